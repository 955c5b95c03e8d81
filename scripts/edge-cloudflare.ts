/**
 * `npm run edge:cloudflare`: the example Worker + Durable Object (examples/cloudflare) in a local
 * workerd through Miniflare, bundled as wrangler bundles it, on PORT (default 8787), with tokens
 * from TIERMEM_TOKENS and storage kept in .tiermem-edge/ between runs.
 */
import { bundleForWorkerd } from './bundle-for-workerd.ts'
import { Miniflare } from 'miniflare'
import { fileURLToPath } from 'node:url'

const tokens = process.env['TIERMEM_TOKENS']
if (!tokens) {
  console.error(`Set TIERMEM_TOKENS to a JSON object of token → namespace, e.g.\n  TIERMEM_TOKENS='{"dev-token-1":"agent-1"}' npm run edge:cloudflare`)
  process.exit(1)
}
const port = Number(process.env['PORT'] ?? 8787)
const script = await bundleForWorkerd(fileURLToPath(new URL('../examples/cloudflare/worker.ts', import.meta.url)))
const mf = new Miniflare({
  modules: true,
  script,
  compatibilityDate: '2026-04-01',
  durableObjects: { TIERMEM: { className: 'TiermemObject', useSQLite: true } },
  durableObjectsPersist: fileURLToPath(new URL('../.tiermem-edge/cloudflare', import.meta.url)),
  bindings: { TIERMEM_TOKENS: tokens, ...(process.env['TIERMEM_MAX_BODY_BYTES'] ? { TIERMEM_MAX_BODY_BYTES: process.env['TIERMEM_MAX_BODY_BYTES'] } : {}) },
  host: '127.0.0.1',
  port,
})
console.log(`tiermem edge (Cloudflare, local workerd) on ${(await mf.ready).origin}`)
const stop = () => void mf.dispose().then(() => process.exit(0))
process.on('SIGINT', stop)
process.on('SIGTERM', stop)

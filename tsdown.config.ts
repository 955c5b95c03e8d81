import { defineConfig } from 'tsdown'

/**
 * The worker scripts, by the relative path their spawners name them with, and the file each
 * becomes in dist/. Every built file sits in dist/ itself, so `new URL('./<file>',
 * import.meta.url)` finds it there, and bundlers that follow that pattern (Vite, webpack 5,
 * Rollup with a plugin) take the worker on as an entry of the user's build.
 */
const workers: Record<string, string> = {
  '../../worker/tiermem.worker.ts': './worker.js',
  './block-compressor.worker.ts': './block-compressor.worker.js',
  '../../worker/tiermem-embeddings.worker.ts': './embeddings-worker.js',
  '../../worker/tiermem-tabs.worker.ts': './tabs-worker.js',
}

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    core: 'src/core/index.ts',
    embeddings: 'src/embeddings/index.ts',
    worker: 'worker/tiermem.worker.ts',
    'embeddings-worker': 'worker/tiermem-embeddings.worker.ts',
    'tabs-worker': 'worker/tiermem-tabs.worker.ts',
    'block-compressor.worker': 'src/stores/block-compressor.worker.ts',
    'edge-cloudflare': 'src/edge/cloudflare/index.ts',
    'edge-deno': 'src/edge/deno/index.ts',
  },
  outDir: 'dist',
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  tsconfig: 'tsconfig.build.json',
  dts: true,
  sourcemap: true,
  clean: true,
  hash: true,
  fixedExtension: false,
  // Bundled rather than a dependency: 2 kB, and its published files name source maps it does not
  // ship, which makes every user's Vite dev server print warnings. Its licence is in LICENSE.
  // The Workers runtime's own module: workerd provides it, the user's bundler (wrangler) leaves it be.
  deps: { alwaysBundle: ['js-xxhash'], onlyBundle: ['js-xxhash'], neverBundle: [/^cloudflare:/] },
  plugins: [
    {
      name: 'tiermem:worker-urls',
      transform(code: string) {
        let out = code
        for (const [source, built] of Object.entries(workers)) out = out.replaceAll(`'${source}'`, `'${built}'`)
        return out === code ? null : { code: out, map: null }
      },
    },
  ],
})

/**
 * Bundles a Worker's entry the way wrangler does (esbuild, workerd's export conditions, the
 * runtime's own `cloudflare:` modules left external), for Miniflare: the edge tests, the edge
 * bench, the local example and the packed-package test all load their Workers through this.
 */
import { build } from 'esbuild'
import { builtinModules } from 'node:module'

export async function bundleForWorkerd(entry: string, options: { nodeCompat?: boolean; absWorkingDir?: string } = {}): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    ...(options.absWorkingDir ? { absWorkingDir: options.absWorkingDir } : {}),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    external: options.nodeCompat ? ['cloudflare:*', 'node:*'] : ['cloudflare:*'],
    // As wrangler does under nodejs_compat: a bare 'path' is Node's own module, which workerd provides.
    ...(options.nodeCompat ? { alias: Object.fromEntries(builtinModules.filter((name) => !name.includes(':')).map((name) => [name, `node:${name}`])) } : {}),
    write: false,
    logLevel: 'error',
  })
  return result.outputFiles[0]!.text
}

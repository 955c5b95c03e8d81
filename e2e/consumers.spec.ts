/**
 * The package as a stranger gets it: `npm pack`, installed into scratch projects outside this
 * repository (their own package.json, no settings of ours), then used from a Vite app (build and
 * dev server), an esbuild-bundled page, a plain Node script, and `tsc` under bundler and nodenext
 * resolution with strict flags, `lib: ES2022, DOM` and `skipLibCheck: false`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test, type Page } from '@playwright/test'
import { serveStatic, type StaticServer } from './static-server.ts'
import { writeTinyModel } from '../test/fixtures/tiny-model.ts'
import { bundleForWorkerd } from '../scripts/bundle-for-workerd.ts'
import { listeningPort } from '../test/edge/deno/deno-host.ts'

const repo = new URL('..', import.meta.url).pathname
const bin = (tool: string) => join(repo, 'node_modules', '.bin', tool)
const run = (command: string, args: string[], cwd: string) => execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

let root: string
const servers: StaticServer[] = []
const processes: ChildProcess[] = []
let esbuildServer: StaticServer | undefined

test.describe.configure({ mode: 'serial' })

test.beforeAll(async () => {
  test.setTimeout(180_000)
  root = mkdtempSync(join(tmpdir(), 'tiermem-consumer-'))
  // prepack builds dist/ first, so the tarball holds what the sources say now.
  const tarball = run('npm', ['pack', '--silent', '--pack-destination', root], repo).trim().split('\n').pop()!
  cpSync(new URL('./consumers/', import.meta.url).pathname, root, { recursive: true })
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', join(root, tarball)], root)
})

test.afterAll(async () => {
  for (const child of processes) child.kill()
  await Promise.all(servers.map((server) => server.close()))
  if (root) rmSync(root, { recursive: true, force: true })
})

/** Loads the page twice: the first load stores a note, the reload reads it back. */
async function putReloadGet(page: Page, url: string): Promise<void> {
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(String(error)))
  const result = async () => {
    await page.waitForFunction(() => document.body.dataset.result, null, { timeout: 30_000 })
    return JSON.parse((await page.evaluate(() => document.body.dataset.result))!)
  }
  await page.goto(url)
  expect(await result()).toEqual({ before: null, backend: 'opfs' })
  await page.reload()
  const second = await result()
  expect(second.error).toBeUndefined()
  expect(second.before.text).toBe('remember the milk')
  expect(errors).toEqual([])
}

test('a Vite app built with `vite build` stores, reloads and reads back', async ({ page }) => {
  const app = join(root, 'vite-app')
  run(process.execPath, [join(repo, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'error'], app)
  // Both workers became files of the app's own build.
  const assets = readdirSync(join(app, 'dist/assets'))
  expect(assets.some((file) => /^worker-.*\.js$/.test(file))).toBe(true)
  expect(assets.some((file) => /^block-compressor\.worker-.*\.js$/.test(file))).toBe(true)
  const server = await serveStatic(join(app, 'dist'))
  servers.push(server)
  await putReloadGet(page, server.url)
  const second = JSON.parse((await page.evaluate(() => document.body.dataset.result))!)
  expect(second.before).toEqual({ text: 'remember the milk', tags: ['shopping'] })
})

test('a Vite app on the dev server works too, and the server warns about nothing', async ({ page }) => {
  const app = join(root, 'vite-app')
  const port = 5300 + Math.floor(Math.random() * 500)
  const child = spawn(process.execPath, [join(repo, 'node_modules/vite/bin/vite.js'), '--port', String(port), '--strictPort', '--host', '127.0.0.1'], {
    cwd: app,
  })
  processes.push(child)
  let log = ''
  child.stdout.on('data', (chunk) => (log += chunk))
  child.stderr.on('data', (chunk) => (log += chunk))
  await expect.poll(() => log, { timeout: 30_000 }).toContain('ready in')
  await putReloadGet(page, `http://127.0.0.1:${port}/`)
  child.kill()
  // No "Failed to load source map" or other warnings from the package's files.
  expect(log).not.toMatch(/source ?map|warn|error/i)
})

test("the README's first example runs as written in a fresh Vite app", async ({ page }) => {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8')
  const example = /## Install[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1]
  expect(example).toContain("from 'tiermem'")
  const app = join(root, 'readme-app')
  mkdirSync(app)
  writeFileSync(join(app, 'index.html'), '<!doctype html><html><body><script type="module" src="/main.js"></script></body></html>')
  writeFileSync(join(app, 'main.js'), `${example}\ndocument.body.dataset.result = 'done'\n`)
  run(process.execPath, [join(repo, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'error'], app)
  const server = await serveStatic(join(app, 'dist'))
  servers.push(server)
  const logged: string[] = []
  const errors: string[] = []
  page.on('console', (message) => logged.push(message.text()))
  page.on('pageerror', (error) => errors.push(String(error)))
  await page.goto(server.url)
  await page.waitForFunction(() => document.body.dataset.result === 'done', null, { timeout: 30_000 })
  expect(errors).toEqual([])
  expect(logged).toContain('vegetarian')
})

test('an esbuild-bundled page, with the worker bundled as an entry of its own, stores, reloads and reads back', async ({ page }) => {
  const app = join(root, 'esbuild-app')
  run(bin('esbuild'), ['main.js', 'missing-worker.js', 'tiermem-worker=tiermem/worker', '--bundle', '--format=esm', '--outdir=out', '--log-level=warning'], app)
  const server = await serveStatic(app)
  servers.push(server)
  esbuildServer = server
  await putReloadGet(page, `${server.url}index.html`)
  const second = JSON.parse((await page.evaluate(() => document.body.dataset.result))!)
  expect(second.before).toEqual({ text: 'remember the milk', at: new Date(0).toISOString() })
})

test('openMemory() rejects with WORKER_LOST naming the URL when the worker script is not there', async ({ page }) => {
  const server = esbuildServer!
  await page.goto(`${server.url}missing-worker.html`)
  await page.waitForFunction(() => document.body.dataset.result, null, { timeout: 20_000 })
  const { error } = JSON.parse((await page.evaluate(() => document.body.dataset.result))!)
  expect(error.name).toBe('TiermemError')
  expect(error.code).toBe('WORKER_LOST')
  // esbuild left openMemory()'s `new URL('./worker.js', import.meta.url)` as it was: next to the bundle.
  expect(error.message).toContain(`${server.url}out/worker.js`)
  expect(error.message).toContain('workerUrl')
})

test('a plain Node script uses tiermem/core', () => {
  const out = run(process.execPath, ['main.mjs'], join(root, 'node-app'))
  expect(JSON.parse(out)).toEqual({ value: 'vegetarian', tier: 'hot', layer: 'insights', refused: 'INVALID_VALUE' })
})

test('a Worker bundled from the package serves the HTTP API in workerd (Miniflare), one Durable Object per namespace', async () => {
  const { Miniflare } = await import('miniflare')
  const script = await bundleForWorkerd(join(root, 'cloudflare-worker/worker.js'), { absWorkingDir: root })
  const mf = new Miniflare({
    modules: true,
    script,
    compatibilityDate: '2026-04-01',
    durableObjects: { TIERMEM: { className: 'TiermemObject', useSQLite: true } },
    bindings: { TIERMEM_TOKENS: JSON.stringify({ 'stranger-token': 'agent-7' }) },
  })
  try {
    const auth = { authorization: 'Bearer stranger-token' }
    const put = await mf.dispatchFetch('http://edge.test/v1/agent-7/entries/plan', {
      method: 'PUT',
      headers: auth,
      body: JSON.stringify({ value: { step: 1 } }),
    })
    expect(put.status).toBe(200)
    expect(await (await mf.dispatchFetch('http://edge.test/v1/agent-7/entries/plan', { headers: auth })).json()).toMatchObject({ value: { step: 1 } })
    expect((await mf.dispatchFetch('http://edge.test/v1/agent-8/stats', { headers: auth })).status).toBe(403)
  } finally {
    await mf.dispose()
  }
})

test('a Deno server from the package serves the HTTP API over Deno KV', async () => {
  const child = spawn(bin('deno'), ['run', '--unstable-kv', '--allow-net', '--allow-env', '--allow-read', '--allow-write', 'deno-server/server.js'], {
    cwd: root,
    env: { ...process.env, TIERMEM_TOKENS: JSON.stringify({ 'stranger-token': 'agent-7' }), TIERMEM_KV_PATH: join(root, 'kv.sqlite3'), NO_COLOR: '1' },
  })
  processes.push(child)
  const port = await listeningPort(child)
  const base = `http://127.0.0.1:${port}/v1/agent-7`
  const auth = { authorization: 'Bearer stranger-token' }
  expect((await fetch(`${base}/entries/plan`, { method: 'PUT', headers: auth, body: JSON.stringify({ value: { step: 2 } }) })).status).toBe(200)
  expect(await (await fetch(`${base}/entries/plan`, { headers: auth })).json()).toMatchObject({ value: { step: 2 } })
  expect((await fetch(`${base}/entries/plan`)).status).toBe(401)
  child.kill()
})

test('transformers.js is an optional peer: not installed with tiermem, and tiermem/embeddings says how to get it', () => {
  expect(readdirSync(join(root, 'node_modules'))).not.toContain('@huggingface')
  expect(readdirSync(join(root, 'node_modules'))).not.toContain('onnxruntime-node')
  const out = JSON.parse(run(process.execPath, ['embeddings-missing.mjs'], join(root, 'node-app')))
  expect(out).toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('npm install @huggingface/transformers') })
})

for (const resolution of ['bundler', 'nodenext']) {
  test(`the types check in a strict consumer (moduleResolution ${resolution}, lib ES2022 + DOM, skipLibCheck false)`, () => {
    const tsc = join(repo, 'node_modules/typescript/bin/tsc')
    let output = ''
    try {
      output = run(process.execPath, [tsc, '-p', `tsconfig.${resolution}.json`], join(root, 'types'))
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error)
    }
    expect(output).toBe('')
  })
}

test('a Vite app with embeddings: transformers.js installed beside the tarball, the model in the embeddings worker', async ({ page }) => {
  test.setTimeout(180_000)
  // Its own project: the one above must not have transformers.js (it is an optional peer).
  const app = join(root, 'embeddings-app')
  const tarball = readdirSync(root).find((file) => file.endsWith('.tgz'))!
  const version = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).devDependencies['@huggingface/transformers'] as string
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'embeddings-app', private: true, type: 'module' }))
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', join(root, tarball), `@huggingface/transformers@${version}`], app)
  writeTinyModel(join(app, 'public', 'models'))
  run(process.execPath, [join(repo, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'error'], app)
  const server = await serveStatic(join(app, 'dist'))
  servers.push(server)
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(String(error)))
  await page.goto(server.url)
  await page.waitForFunction(() => document.body.dataset.result, null, { timeout: 60_000 })
  const result = JSON.parse((await page.evaluate(() => document.body.dataset.result))!)
  expect(result.error).toBeUndefined()
  expect(result.dims).toBe(384)
  expect(result.norm).toBeCloseTo(1, 4)
  // The put embedded the same text: a cache hit.
  expect(result.cache).toMatchObject({ hits: 1, misses: 1 })
  expect(errors).toEqual([])
})

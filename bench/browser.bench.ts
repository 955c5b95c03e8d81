/**
 * npm run bench: the browser benchmarks in real headless Chromium.
 *
 * Method: the page is built by Vite (bundled, as users ship it: the dev server would load the
 * worker as dozens of separate modules) and served cross-origin isolated (COOP/COEP), so
 * performance.now() resolves 5 µs and single calls can be timed. Chromium runs with a fresh on-disk profile
 * (an off-the-record context would keep IndexedDB in memory and flatter every store). The page
 * measures tiermem and its peers side by side, interleaving their rounds; goals are ratios to
 * peers measured in the same run. Results: a table here, JSON in bench/results/browser.json,
 * and the last runs (not only the best) in bench/results/browser-history.json.
 *
 * BENCH_HOG=1 runs a busy neighbour beside the browser (one process spinning on a core), to see
 * which figures hold when the machine is not idle.
 */
import { spawn } from 'node:child_process'
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Page } from 'playwright'
import { build, preview } from 'vite'
import { CHROMIUM_ARGS, chromiumPath } from '../scripts/chromium.ts'
import { buildCorpus, fixedRecords } from './corpus.ts'
import { cpuSampler } from './cpu-sampler.ts'
import { heapSampler } from './heap-sampler.ts'
import type { Row } from './browser/rounds.ts'
import { writeTinyModel } from '../test/fixtures/tiny-model.ts'

const root = new URL('./browser/', import.meta.url).pathname
const outDir = mkdtempSync(join(tmpdir(), 'tiermem-bench-page-'))
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' }
await build({
  root,
  configFile: false,
  logLevel: 'warn',
  build: { outDir, emptyOutDir: true, target: 'es2022', ...(process.env.BENCH_TRACE_CPU || process.env.BENCH_HEAP_PROFILE ? { minify: false } : {}) },
  worker: { format: 'es' },
})
// The tiny embedding model the embeddings section loads from /models/ (as the tests make it);
// BENCH_MODEL_DIR=<folder holding e.g. Xenova/all-MiniLM-L6-v2/> BENCH_MODEL=Xenova/all-MiniLM-L6-v2
// measures the cache against a real model you have downloaded instead.
writeTinyModel(join(outDir, 'models'))
if (process.env.BENCH_MODEL_DIR) cpSync(process.env.BENCH_MODEL_DIR, join(outDir, 'models'), { recursive: true })
const server = await preview({ root, configFile: false, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0, headers: isolation } })
const url = server.resolvedUrls!.local[0]!
const executablePath = chromiumPath()
const hog = process.env.BENCH_HOG ? spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }) : undefined
const loadBefore = loadavg()
// The profile holds every section's IndexedDB and OPFS data (over a gigabyte in a full run): removed when the run ends.
const profileDir = mkdtempSync(join(tmpdir(), 'tiermem-bench-'))
const context = await chromium.launchPersistentContext(profileDir, {
  ...(executablePath ? { executablePath } : {}),
  // Eager memory measurement: performance.measureUserAgentSpecificMemory() answers now, not at the next GC (recall section).
  args: [...CHROMIUM_ARGS, '--enable-blink-features=ForceEagerMeasureMemory'],
  headless: true,
})
try {
  const page = await context.newPage()
  // BENCH_CPU=1: CPU by thread in the windows the page marks (Linux only).
  const cpu = process.env.BENCH_CPU ? cpuSampler((line) => console.log(line)) : undefined
  if (cpu) page.on('console', (message) => void cpu(message.text()))
  page.on('console', (message) => (message.type() === 'error' || process.env.BENCH_DEBUG) && console.error('page:', message.text()))
  page.on('pageerror', (error) => console.error('page error:', error))
  // The workers' peak JS heap around an operation the page marks (backup section).
  await page.exposeFunction('benchHeap', await heapSampler(await context.newCDPSession(page)))
  await page.goto(url)
  await page.waitForFunction(() => window.benchReady === true, undefined, { timeout: 60_000 })
  if (process.env.BENCH_MODEL) await page.evaluate((model) => (window.benchModel = model), process.env.BENCH_MODEL)
  // BENCH_BUSY_KINDS=backup,expired runs only the busy section's kinds whose names contain one of these.
  if (process.env.BENCH_BUSY_KINDS) await page.evaluate((kinds) => (window.benchBusyKinds = kinds), process.env.BENCH_BUSY_KINDS.split(','))
  if (process.env.BENCH_RECALL_SIZES || process.env.BENCH_RECALL_PEERS || process.env.BENCH_RECALL_OURS) {
    const sizes = process.env.BENCH_RECALL_SIZES?.split(',').map(Number)
    const peers = process.env.BENCH_RECALL_PEERS?.split(',').filter(Boolean)
    const ours = process.env.BENCH_RECALL_OURS?.split(',').filter(Boolean)
    await page.evaluate((recall) => (window.benchRecall = recall as typeof window.benchRecall), {
      ...(sizes ? { sizes } : {}),
      ...(peers ? { peers } : {}),
      ...(ours ? { ours } : {}),
    })
  }
  // BENCH_ONLY=cold,writes runs those sections alone (while working on one path); only a full run is written to results.
  const only = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean)
  // The bytes a cached vector costs, each case in a page of an origin of its own (a server on
  // another port): the bench's own origin shares one LevelDB with every other section's data.
  if (only.length === 0 || only.includes('embeddings')) {
    const measure = async (quantize: boolean) => {
      const own = await preview({ root, configFile: false, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0, headers: isolation } })
      const sizePage = await context.newPage()
      try {
        await sizePage.goto(own.resolvedUrls!.local[0]!)
        await sizePage.waitForFunction(() => window.benchReady === true, undefined, { timeout: 60_000 })
        return await sizePage.evaluate(([q, model]) => window.benchEmbeddingSize(q, model), [quantize, process.env.BENCH_MODEL] as const)
      } finally {
        await sizePage.close()
        await own.close()
      }
    }
    const sizes = { float32: await measure(false), quantized: await measure(true) }
    await page.evaluate((s) => (window.benchEmbeddingSizes = s), sizes)
  }
  const corpus = buildCorpus(10_000)
  // ~1 KiB as JSON: 960 characters of text plus the other fields.
  const fixed = fixedRecords(10_000, 960, corpus)
  const version = await context.browser()?.version()
  // A run that stops making progress fails with what the page had logged, instead of hanging.
  const limitMs = Number(process.env.BENCH_TIMEOUT_MS ?? 60 * 60_000)
  let timer: ReturnType<typeof setTimeout> | undefined
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(async () => {
      const log = await page
        .locator('#log')
        .textContent()
        .catch(() => '')
      reject(new Error(`the benchmark page did not finish within ${limitMs} ms; its log so far:\n${log}`))
    }, limitMs)
  })
  const trace = process.env.BENCH_TRACE ? await startTrace(page) : undefined
  const rows: Row[] = await Promise.race([page.evaluate(([c, f, o]) => window.runBench(c, f, o), [corpus, fixed, only] as const), stalled])
  clearTimeout(timer)
  if (trace) await trace(process.env.BENCH_TRACE!)
  const machine = {
    cores: cpus().length,
    load: { before: loadBefore.map((x) => Number(x.toFixed(2))), after: loadavg().map((x) => Number(x.toFixed(2))) },
    neighbour: hog ? 'busy (BENCH_HOG: one process spinning)' : 'none started',
  }
  console.log(`\ntiermem browser bench — Chromium ${version ?? ''}, ${new Date().toISOString()}`)
  console.log(
    `machine: ${machine.cores} cores; load average (1, 5, 15 min) ${machine.load.before.join(' ')} before, ${machine.load.after.join(' ')} after; neighbour: ${machine.neighbour}\n`,
  )
  console.log(`${'measure'.padEnd(66)} ${'value'.padStart(12)}  unit        vs peer (spread of rounds)                  goal      `)
  for (const r of rows) {
    const spread = r.spread ? ` (${r.spread[0].toFixed(2)}–${r.spread[1].toFixed(2)})` : ''
    const ratio = r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}×${spread} ${r.peer}${r.drifted ? ' [peers drifted]' : ''}`
    const goal = r.goal ? `${r.goal} ${r.pass ? 'met' : 'MISSED'}` : ''
    console.log(`${r.name.padEnd(66)} ${r.value.toFixed(r.value >= 100 ? 0 : 3).padStart(12)}  ${r.unit.padEnd(10)}  ${ratio.padEnd(44)} ${goal}`)
  }
  if (rows.some((r) => r.drifted))
    console.log("\n[peers drifted]: a peer's slowest round was over 1.5× its fastest; the machine changed speed during that measure.")
  if (only.length === 0) {
    const run = { date: new Date().toISOString(), chromium: version, machine, rows }
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
    writeFileSync(new URL('./results/browser.json', import.meta.url), JSON.stringify(run, null, 2) + '\n')
    // Every full run is kept (the last ten), good or bad: a figure is as good as its spread over runs.
    const historyUrl = new URL('./results/browser-history.json', import.meta.url)
    const history: unknown[] = existsSync(historyUrl) ? JSON.parse(readFileSync(historyUrl, 'utf8')) : []
    writeFileSync(historyUrl, JSON.stringify([run, ...history].slice(0, 10), null, 2) + '\n')
    console.log('\nwritten to bench/results/browser.json and browser-history.json')
  }
} finally {
  hog?.kill()
  await context.close()
  await server.close()
  for (const dir of [profileDir, outDir]) rmSync(dir, { recursive: true, force: true })
}

/**
 * BENCH_TRACE=file.json: a Chromium trace of the whole run (every process), for chrome://tracing
 * or Perfetto. BENCH_TRACE_CPU=1 adds V8's CPU samples of every thread (and builds the page
 * unminified, so the samples name our functions). BENCH_TRACE_CATEGORIES=a,b traces only those
 * categories (a full run's trace with every default one can pass 1 GB).
 */
async function startTrace(page: Page): Promise<(file: string) => Promise<void>> {
  const cdp = await page.context().newCDPSession(page)
  const events: unknown[] = []
  cdp.on('Tracing.dataCollected', (data: { value: unknown[] }) => events.push(...data.value))
  const categories = process.env.BENCH_TRACE_CATEGORIES?.split(',') ?? [
    'toplevel',
    'v8',
    'disabled-by-default-v8.gc',
    'blink.user_timing',
    'IndexedDB',
    'leveldb',
    '__metadata',
    ...(process.env.BENCH_TRACE_CPU ? ['disabled-by-default-v8.cpu_profiler'] : []),
  ]
  await cdp.send('Tracing.start', { transferMode: 'ReportEvents', traceConfig: { includedCategories: categories } })
  return async (file) => {
    const done = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve))
    await cdp.send('Tracing.end')
    await done
    // Written an event at a time: the whole trace as one string can pass V8's string limit.
    const out = openSync(file, 'w')
    writeSync(out, '{"traceEvents":[\n')
    events.forEach((event, i) => writeSync(out, (i > 0 ? ',\n' : '') + JSON.stringify(event)))
    writeSync(out, '\n]}\n')
    closeSync(out)
  }
}

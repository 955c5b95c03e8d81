/**
 * npm run bench:tabs — several tabs, one memory, in headless Chromium (the e2e harness page built
 * by Vite, an on-disk profile). In one run, rounds interleaved:
 *
 * - hot get p50 in a follower tab against the leader tab's (goal: ≤ 2×, the follower's one extra hop);
 * - putMany of 10,000 × 1 KiB from a follower against from the leader (goal: ≥ 0.8×);
 * - hand-over: the leader tab closed while a follower reads in a loop; the longest gap between two
 *   answers in the follower is the time from the last answer of the old leader to the first of
 *   the new (goal: p95 ≤ 500 ms).
 *
 * Results: a table here, JSON in bench/results/tabs.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright'
import { build, preview } from 'vite'
import { CHROMIUM_ARGS, chromiumPath } from '../scripts/chromium.ts'
import { transportFloor } from './tabs-transport.ts'

const ROUNDS = Number(process.env['BENCH_TABS_ROUNDS'] ?? 5)
const HANDOVERS = Number(process.env['BENCH_TABS_HANDOVERS'] ?? 12)
const root = new URL('../e2e/harness/', import.meta.url).pathname
const outDir = mkdtempSync(join(tmpdir(), 'tiermem-bench-tabs-'))
await build({ root, configFile: false, logLevel: 'warn', build: { outDir, emptyOutDir: true, target: 'es2022' }, worker: { format: 'es' } })
// Cross-origin isolated, as the browser bench: performance.now() resolves 5 µs instead of 100.
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' }
const server = await preview({ root, configFile: false, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0, headers: isolation } })
const url = server.resolvedUrls!.local[0]!
const executablePath = chromiumPath()
const profileDir = mkdtempSync(join(tmpdir(), 'tiermem-bench-tabs-profile-'))
const context: BrowserContext = await chromium.launchPersistentContext(profileDir, {
  ...(executablePath ? { executablePath } : {}),
  args: CHROMIUM_ARGS,
})
const keep = { maintenanceIntervalMs: 0, policy: { defaultLayer: 'keep', layers: { keep: { eviction: 'lru_with_importance' } } } }
type Mem = {
  role: string
  put(k: string, v: unknown): Promise<unknown>
  get(k: string): Promise<unknown>
  putMany(items: unknown[]): Promise<unknown[]>
  close(): Promise<void>
}

async function open(name: string): Promise<Page> {
  const page = await context.newPage()
  await page.goto(url)
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready')
  await page.evaluate(
    async ({ name, keep }) => {
      ;(window as unknown as { mem: unknown }).mem = await (window as unknown as { tiermem: { openMemory(o: object): Promise<unknown> } }).tiermem.openMemory({
        name,
        ...keep,
      })
    },
    { name, keep },
  )
  return page
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)]!

// Reads and putMany: one leader, one follower.
const leader = await open('bench-tabs')
const follower = await open('bench-tabs')
const roles = [
  await leader.evaluate(() => (window as unknown as { mem: Mem }).mem.role),
  await follower.evaluate(() => (window as unknown as { mem: Mem }).mem.role),
]
if (roles.join() !== 'leader,follower') throw new Error(`roles: ${roles.join()}`)
await leader.evaluate(async () => {
  const mem = (window as unknown as { mem: Mem }).mem
  for (let i = 0; i < 1000; i++) await mem.put(`hot-${i}`, { i, text: 'x'.repeat(200) })
})
const getP50 = (page: Page) =>
  page.evaluate(async () => {
    const mem = (window as unknown as { mem: Mem }).mem
    const times: number[] = []
    for (let i = 0; i < 2000; i++) {
      const start = performance.now()
      await mem.get(`hot-${i % 1000}`)
      times.push(performance.now() - start)
    }
    times.sort((a, b) => a - b)
    return times[1000]! * 1000
  })
const putManyRate = (page: Page, round: number, who: string) =>
  page.evaluate(
    async ({ round, who }) => {
      const mem = (window as unknown as { mem: Mem }).mem
      const items = Array.from({ length: 10_000 }, (_, i) => ({
        key: `${who}-${round}-${i}`,
        value: { i, text: `note ${i} `.padEnd(1024, '.') },
        tier: 'warm',
      }))
      const start = performance.now()
      await mem.putMany(items)
      return 10_000 / ((performance.now() - start) / 1000)
    },
    { round, who },
  )
const t = { leaderGet: [] as number[], followerGet: [] as number[], leaderPutMany: [] as number[], followerPutMany: [] as number[] }
for (let round = -1; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? ['leader', 'follower'] : ['follower', 'leader']
  for (const who of order) {
    const page = who === 'leader' ? leader : follower
    const get = await getP50(page)
    const rate = await putManyRate(page, round, who)
    if (round < 0) continue
    if (who === 'leader') (t.leaderGet.push(get), t.leaderPutMany.push(rate))
    else (t.followerGet.push(get), t.followerPutMany.push(rate))
  }
}
// The transport alone, on the same two pages: a page to its own worker, a page to another page's worker.
const transport = await transportFloor(leader, follower)
await follower.close()
await leader.close()

// Hand-over: a fresh name each time, the leader's tab closed while the follower reads.
const gaps: number[] = []
for (let i = 0; i < HANDOVERS; i++) {
  const name = `handover-${i}`
  const first = await open(name)
  const second = await open(name)
  await first.evaluate(() => (window as unknown as { mem: Mem }).mem.put('x', 1))
  await second.evaluate(() => {
    const w = window as unknown as { mem: Mem; answers: number[]; stop: boolean; errors: string[] }
    w.answers = []
    w.errors = []
    w.stop = false
    void (async () => {
      while (!w.stop) {
        try {
          await w.mem.get('x')
          w.answers.push(performance.now())
        } catch (error) {
          w.errors.push(String(error))
        }
      }
    })()
  })
  await new Promise((resolve) => setTimeout(resolve, 300))
  await first.close({ runBeforeUnload: false })
  await second.waitForFunction(() => (window as unknown as { mem: Mem }).mem.role === 'leader', null, { timeout: 15_000 })
  await new Promise((resolve) => setTimeout(resolve, 300))
  const { gap, errors } = await second.evaluate(() => {
    const w = window as unknown as { answers: number[]; stop: boolean; errors: string[] }
    w.stop = true
    let gap = 0
    for (let j = 1; j < w.answers.length; j++) gap = Math.max(gap, w.answers[j]! - w.answers[j - 1]!)
    return { gap, errors: w.errors }
  })
  if (errors.length > 0) throw new Error(`reads failed during a hand-over: ${errors.join('; ')}`)
  gaps.push(gap)
  await second.evaluate(() => (window as unknown as { mem: Mem }).mem.close())
  await second.close()
}
await context.close()
await server.close()
for (const dir of [profileDir, outDir]) rmSync(dir, { recursive: true, force: true })

const results = {
  when: new Date().toISOString(),
  rounds: ROUNDS,
  hotGetP50Us: { leader: median(t.leaderGet), follower: median(t.followerGet), ratio: median(t.followerGet) / median(t.leaderGet) },
  putMany10kPerSecond: { leader: median(t.leaderPutMany), follower: median(t.followerPutMany), ratio: median(t.followerPutMany) / median(t.leaderPutMany) },
  handoverMs: { p50: median(gaps), p95: p95(gaps), all: gaps },
  transportEchoUs: { ...transport, ratio: transport.otherPagesWorkerUs / transport.ownWorkerUs },
}
console.log(
  `hot get p50: leader ${results.hotGetP50Us.leader.toFixed(0)} µs, follower ${results.hotGetP50Us.follower.toFixed(0)} µs → ${results.hotGetP50Us.ratio.toFixed(2)}× (goal ≤ 2×)`,
)
console.log(
  `putMany 10k: leader ${results.putMany10kPerSecond.leader.toFixed(0)}/s, follower ${results.putMany10kPerSecond.follower.toFixed(0)}/s → ${results.putMany10kPerSecond.ratio.toFixed(2)}× (goal ≥ 0.8×)`,
)
console.log(
  `transport alone (an echo, no tiermem): page ↔ its own worker ${transport.ownWorkerUs.toFixed(0)} µs, page ↔ another page's worker over a port ${transport.otherPagesWorkerUs.toFixed(0)} µs → ${results.transportEchoUs.ratio.toFixed(2)}×`,
)
console.log(
  `hand-over (leader tab closed → first answer in the follower): p50 ${results.handoverMs.p50.toFixed(0)} ms, p95 ${results.handoverMs.p95.toFixed(0)} ms (goal p95 ≤ 500 ms)`,
)
mkdirSync(new URL('./results/', import.meta.url).pathname, { recursive: true })
writeFileSync(new URL('./results/tabs.json', import.meta.url).pathname, JSON.stringify(results, null, 2) + '\n')

/**
 * npm run bench:edge — the edge variants' goals, as ratios of runs interleaved in one process:
 *
 * - Durable Object (workerd through Miniflare, in-process RPC, no HTTP): n awaited puts, then n
 *   gets, through tiermem's engine against the bare Durable Object storage API doing the same
 *   work. Node times each RPC call; the object does a whole round inside it.
 * - Deno: putMany of 10,000 through tiermem over Deno KV against bare kv.atomic() batches.
 *
 * A ratio is bare time / tiermem time (≥ 1: tiermem is faster). Results: bench/results/edge.json.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { bundleForWorkerd } from '../scripts/bundle-for-workerd.ts'
import { Miniflare } from 'miniflare'

const N = Number(process.env['BENCH_EDGE_N'] ?? 2000)
const BYTES = 1024
const ROUNDS = Number(process.env['BENCH_EDGE_ROUNDS'] ?? 7)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

interface BenchStub {
  warmUp(): Promise<void>
  tiermemPuts(n: number, bytes: number, round: number): Promise<number>
  tiermemGets(n: number, bytes: number, round: number): Promise<number>
  barePuts(n: number, bytes: number, round: number): Promise<number>
  tiermemPutsTogether(n: number, bytes: number, round: number): Promise<number>
  barePutsTogether(n: number, bytes: number, round: number): Promise<number>
  bareGets(n: number, bytes: number, round: number): Promise<number>
}

async function durableObject(): Promise<Record<string, number>> {
  const script = await bundleForWorkerd(fileURLToPath(new URL('./edge/bench-worker.ts', import.meta.url)))
  const mf = new Miniflare({
    modules: true,
    script,
    compatibilityDate: '2026-04-01',
    durableObjects: { BENCH: { className: 'BenchObject', useSQLite: true } },
  })
  const ns = (await mf.getDurableObjectNamespace('BENCH')) as unknown as { idFromName(n: string): unknown; get(id: unknown): BenchStub }
  const timed = async (fn: () => Promise<number>, expected: number) => {
    const start = performance.now()
    const got = await fn()
    if (got !== expected) throw new Error(`a round did ${got} of ${expected} operations`)
    return performance.now() - start
  }
  const t = {
    tiermemPut: [] as number[],
    barePut: [] as number[],
    tiermemGet: [] as number[],
    bareGet: [] as number[],
    tiermemTogether: [] as number[],
    bareTogether: [] as number[],
  }
  for (let round = -1; round < ROUNDS; round++) {
    // A new object each round: every round starts from an empty memory (hot has room, no moves).
    const stub = ns.get(ns.idFromName(`bench-${round}`))
    await stub.warmUp()
    // Alternate which goes first, so neither always meets a warmer runtime.
    const order = round % 2 === 0 ? ['bare', 'tiermem'] : ['tiermem', 'bare']
    for (const who of order) {
      const put = await timed(() => (who === 'bare' ? stub.barePuts(N, BYTES, round) : stub.tiermemPuts(N, BYTES, round)), N)
      const get = await timed(() => (who === 'bare' ? stub.bareGets(N, BYTES, round) : stub.tiermemGets(N, BYTES, round)), N)
      const together = await timed(() => (who === 'bare' ? stub.barePutsTogether(N, BYTES, round) : stub.tiermemPutsTogether(N, BYTES, round)), N)
      if (round < 0) continue
      if (who === 'bare') (t.barePut.push(put), t.bareGet.push(get), t.bareTogether.push(together))
      else (t.tiermemPut.push(put), t.tiermemGet.push(get), t.tiermemTogether.push(together))
    }
  }
  await mf.dispose()
  return {
    tiermemPutMs: median(t.tiermemPut),
    barePutMs: median(t.barePut),
    putRatio: median(t.barePut) / median(t.tiermemPut),
    tiermemGetMs: median(t.tiermemGet),
    bareGetMs: median(t.bareGet),
    getRatio: median(t.bareGet) / median(t.tiermemGet),
    tiermemTogetherMs: median(t.tiermemTogether),
    bareTogetherMs: median(t.bareTogether),
    togetherRatio: median(t.bareTogether) / median(t.tiermemTogether),
  }
}

function deno(): Record<string, number> {
  const out = execFileSync(
    fileURLToPath(new URL('../node_modules/.bin/deno', import.meta.url)),
    [
      'run',
      '--unstable-kv',
      '--allow-read',
      '--allow-write',
      '--allow-env',
      fileURLToPath(new URL('./edge/deno-bench.ts', import.meta.url)),
      '10000',
      String(BYTES),
      String(ROUNDS),
    ],
    { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
  )
  const { tiermemMs, bareMs } = JSON.parse(out.trim().split('\n').pop()!) as { tiermemMs: number[]; bareMs: number[] }
  return { tiermemPutManyMs: median(tiermemMs), bareAtomicMs: median(bareMs), putManyRatio: median(bareMs) / median(tiermemMs) }
}

const results = { when: new Date().toISOString(), n: N, bytes: BYTES, rounds: ROUNDS, durableObject: await durableObject(), deno: deno() }
const fmt = (x: number) => x.toFixed(2)
console.log(`Durable Object, ${N} awaited ops of ${BYTES} B (median of ${ROUNDS} rounds, RPC in, no HTTP):`)
console.log(
  `  put: tiermem ${fmt(results.durableObject.tiermemPutMs!)} ms, bare storage ${fmt(results.durableObject.barePutMs!)} ms → ${fmt(results.durableObject.putRatio!)}× (goal ≥ 0.8×)`,
)
console.log(
  `  get: tiermem ${fmt(results.durableObject.tiermemGetMs!)} ms, bare storage ${fmt(results.durableObject.bareGetMs!)} ms → ${fmt(results.durableObject.getRatio!)}× (goal ≥ 0.8×)`,
)
console.log(
  `  put, issued together: tiermem ${fmt(results.durableObject.tiermemTogetherMs!)} ms, bare storage ${fmt(results.durableObject.bareTogetherMs!)} ms → ${fmt(results.durableObject.togetherRatio!)}×`,
)
console.log(`Deno KV, putMany of 10,000 × ${BYTES} B:`)
console.log(
  `  tiermem ${fmt(results.deno.tiermemPutManyMs!)} ms, bare kv.atomic() ${fmt(results.deno.bareAtomicMs!)} ms → ${fmt(results.deno.putManyRatio!)}× (goal ≥ 0.8×)`,
)
mkdirSync(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true })
writeFileSync(fileURLToPath(new URL('./results/edge.json', import.meta.url)), JSON.stringify(results, null, 2) + '\n')

/**
 * bench:core — the in-process engine in Node, peers measured side by side in the same run.
 *
 * Method: each figure is the median of several timed rounds after a warm-up round; memory is
 * measured as (V8 heap + ArrayBuffer backing stores) after forced gc, so typed arrays count.
 * Goals (issue #2): hot get ≥ 0.5× lru-cache get; registry ≤ 250 B/entry at 1M entries;
 * gc over 1M entries with 1 % due ≤ 50 ms. Recall under churn (no goal in an issue): the
 * recall@10 of a memory whose vectors were half replaced four times, beside one built fresh.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { LRUCache } from 'lru-cache'
import { Packr } from 'msgpackr'
import { createMemory } from '../src/core/index.ts'
import { encodeValue, decodeValue, freezeIfPlain } from '../src/core/persistence/codec.ts'
import { hashBytes } from '../src/core/persistence/content-hash.ts'
import { clusteredVectors, exactTopK } from '../test/fixtures/vectors.ts'

const clone = globalThis.structuredClone
const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with node --expose-gc (npm run bench:core does)')

const rows: Array<{ name: string; value: number; unit: string; note?: string }> = []
const record = (name: string, value: number, unit: string, note?: string) => {
  rows.push({ name, value, unit, ...(note ? { note } : {}) })
  console.log(`${name.padEnd(58)} ${formatNumber(value).padStart(14)} ${unit}${note ? `  (${note})` : ''}`)
}
function formatNumber(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n >= 10 ? 1 : 3)
}
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}
async function timeRounds(rounds: number, body: () => unknown): Promise<number> {
  await body()
  const times: number[] = []
  for (let i = 0; i < rounds; i++) {
    const started = performance.now()
    await body()
    times.push(performance.now() - started)
  }
  return median(times)
}
/** Times several bodies in interleaved rounds (A B C, A B C, …): machine noise hits all alike. */
async function interleaved(rounds: number, bodies: Array<() => unknown>): Promise<number[]> {
  for (const body of bodies) await body()
  const times = bodies.map(() => [] as number[])
  for (let r = 0; r < rounds; r++) {
    for (let b = 0; b < bodies.length; b++) {
      const started = performance.now()
      await bodies[b]!()
      times[b]!.push(performance.now() - started)
    }
  }
  return times.map(median)
}
function usedBytes(): number {
  gc!()
  gc!()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}
const plainPolicy = { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' as const } } }
const message = (i: number) => ({
  id: `m${i}`,
  conv: `c${i % 50}`,
  role: i % 2 ? 'assistant' : 'user',
  ts: 1_700_000_000_000 + i,
  text: `message number ${i} about the plan`,
})

// ── Hot get vs lru-cache ─────────────────────────────────────────────────────────────
async function hotGet(): Promise<void> {
  const N = 100_000
  const keys = Array.from({ length: N }, (_, i) => `key:${i}`)
  const lru = new LRUCache<string, object>({ max: N * 2 })
  for (let i = 0; i < N; i++) lru.set(keys[i]!, message(i))
  const mem = await createMemory({ maintenanceIntervalMs: 0, policy: plainPolicy, hot: { maxBytes: 1e12 }, pressure: { checkIntervalMs: 0 } })
  for (let i = 0; i < N; i += 10_000) await mem.putMany(keys.slice(i, i + 10_000).map((key, j) => ({ key, value: message(i + j) })))
  let sink = 0
  // The floor any awaited API pays here: awaiting a value that is already there.
  const map = new Map(keys.map((k, i) => [k, message(i)]))
  const [lruMs, memMs, floorMs, togetherMs] = (await interleaved(9, [
    () => {
      for (let i = 0; i < N; i++) if (lru.get(keys[i]!)) sink++
    },
    async () => {
      for (let i = 0; i < N; i++) if (await mem.get(keys[i]!)) sink++
    },
    async () => {
      for (let i = 0; i < N; i++) if (await map.get(keys[i]!)) sink++
    },
    async () => {
      for (let i = 0; i < N; i += 1000) {
        const pending: Array<Promise<unknown>> = []
        for (let j = i; j < i + 1000; j++) pending.push(mem.get(keys[j]!))
        for (const v of await Promise.all(pending)) if (v) sink++
      }
    },
  ])) as [number, number, number, number]
  const lruOps = (N / lruMs) * 1000
  const memOps = (N / memMs) * 1000
  const floorOps = (N / floorMs) * 1000
  record('lru-cache get (100k keys)', lruOps, 'ops/s')
  record('floor: `await map.get(k)` (any awaited call)', floorOps, 'ops/s', `${(floorOps / lruOps).toFixed(2)}× lru-cache`)
  record('tiermem hot get, awaited one by one (100k keys)', memOps, 'ops/s')
  record('  ratio tiermem / lru-cache (goal ≥ 0.5)', memOps / lruOps, '×')
  record('  ratio tiermem / await floor', memOps / floorOps, '×')
  record('tiermem hot get, 1000 issued together', (N / togetherMs) * 1000, 'ops/s', `${(((N / togetherMs) * 1000) / lruOps).toFixed(2)}× lru-cache`)
  const manyMs = await timeRounds(7, async () => {
    for (let i = 0; i < N; i += 1000) await mem.getMany(keys.slice(i, i + 1000))
  })
  record('tiermem hot getMany(1000)', (N / manyMs) * 1000, 'gets/s', `${(((N / manyMs) * 1000) / lruOps).toFixed(2)}× lru-cache`)

  // Metrics recording (issue #4: ≤ 5 % cost): the same instance with sampling switched off
  // and on between rounds, so memory layout is the same for both.
  const sweep = async () => {
    for (let i = 0; i < N; i++) if (await mem.get(keys[i]!)) sink++
  }
  const [offFirstMs, onMs, offMs] = (await interleaved(9, [
    async () => (await mem.configure({ metrics: false }), await sweep()),
    async () => (await mem.configure({ metrics: true }), await sweep()),
    async () => (await mem.configure({ metrics: false }), await sweep()),
  ])) as [number, number, number]
  await mem.configure({ metrics: true })
  // Off runs on both sides of on: where a body sits in the round does not bias the ratio.
  record('  hot get with metrics on / off (goal ≤ 1.05)', onMs / ((offFirstMs + offMs) / 2), '×')

  // Copy or freeze: what a hot read costs if it decoded a fresh copy instead of sharing a frozen value.
  const bytes = keys.map((_, i) => encodeValue(message(i)))
  const decodeMs = await timeRounds(7, () => {
    for (let i = 0; i < N; i++) if (decodeValue(bytes[i]!)) sink++
  })
  const cloneMs = await timeRounds(7, () => {
    for (let i = 0; i < N; i++) if (clone(message(i))) sink++
  })
  record('  a copy per read instead: msgpackr decode', (N / decodeMs) * 1000, 'ops/s', 'freeze is paid once at put')
  record('  a copy per read instead: structuredClone', (N / cloneMs) * 1000, 'ops/s')
  if (sink < 0) console.log(sink)
  await mem.close()
}

// ── Codec choice: encode + decode of a chat message, and the content hash share of a put ──
async function codec(): Promise<void> {
  const N = 100_000
  const values = Array.from({ length: N }, (_, i) => ({ ...message(i), text: `message ${i} `.repeat(30) }))
  const packr = new Packr({ moreTypes: true, structuredClone: true })
  let sink = 0
  const msgpackrMs = await timeRounds(5, () => {
    for (const v of values) sink += packr.unpack(packr.pack(v)) ? 1 : 0
  })
  const jsonMs = await timeRounds(5, () => {
    for (const v of values) sink += JSON.parse(JSON.stringify(v)) ? 1 : 0
  })
  const cloneMs = await timeRounds(5, () => {
    for (const v of values) sink += clone(v) ? 1 : 0
  })
  const encoded = values.map((v) => encodeValue(v))
  const hashMs = await timeRounds(5, () => {
    for (const b of encoded) sink += hashBytes(b).hi & 1
  })
  const freezeMs = await timeRounds(5, () => {
    for (const b of encoded) sink += freezeIfPlain(decodeValue(b)) ? 1 : 0
  })
  record('codec msgpackr encode+decode (0.5 KiB message)', (msgpackrMs * 1000) / N, 'µs/op')
  record('codec JSON stringify+parse (same message)', (jsonMs * 1000) / N, 'µs/op', 'loses Date/Map/Set/binary')
  record('codec structuredClone (same message)', (cloneMs * 1000) / N, 'µs/op', 'no bytes: no size, hash or compression')
  record('content hash (2 × xxHash32) per put', (hashMs * 1000) / N, 'µs/op')
  record('hot copy: decode + deep freeze per put', (freezeMs * 1000) / N, 'µs/op')
  const mem = await createMemory({ maintenanceIntervalMs: 0, policy: plainPolicy, hot: { maxBytes: 1e12 }, pressure: { checkIntervalMs: 0 } })
  const putMs = await timeRounds(3, async () => {
    for (let i = 0; i < N; i += 1000) await mem.putMany(values.slice(i, i + 1000).map((value, j) => ({ key: `k${i + j}`, value })))
  })
  record('putMany(1000) into memory stores, per record', (putMs * 1000) / N, 'µs/op', 'hash share = hash row / this')
  if (sink < 0) console.log(sink)
  await mem.close()
}

// ── Registry bytes per entry at 1,000,000 entries ────────────────────────────────────
async function registryBytes(): Promise<void> {
  const N = 1_000_000
  let now = 0
  const before = usedBytes()
  const mem = await createMemory({
    maintenanceIntervalMs: 0,
    clock: { now: () => now },
    hot: { maxBytes: 1e12 },
    pressure: { checkIntervalMs: 0 },
    policy: { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance', ttlMs: 86_400_000 } } },
  })
  // durable: false keeps the stores out of the figure: what remains is the registry
  // (keys, metadata, recency lists, expiry heap, namespace map) and a small hot value per entry.
  for (let i = 0; i < N; i += 20_000) {
    await mem.putMany(Array.from({ length: 20_000 }, (_, j) => ({ key: `k${i + j}`, value: i + j, durable: false })))
  }
  const after = usedBytes()
  record('registry + key + hot pointer per entry at 1M entries (goal ≤ 250)', (after - before) / N, 'bytes', 'keys ~8 chars, TTL set')
  await mem.close()
  now = 0
}

// ── gc over 1,000,000 entries, 1 % due ───────────────────────────────────────────────
async function gcAtScale(): Promise<void> {
  const N = 1_000_000
  let now = 1_000_000
  const mem = await createMemory({
    maintenanceIntervalMs: 0,
    clock: { now: () => now },
    hot: { maxBytes: 1e12 },
    warm: { maxBytes: 1e12 },
    cold: { maxBytes: 1e12 },
    pressure: { checkIntervalMs: 0 },
    policy: plainPolicy,
  })
  const CHUNK = 20_000
  for (let i = 0; i < N; i += CHUNK) {
    await mem.putMany(
      Array.from({ length: CHUNK }, (_, j) => {
        const n = i + j
        // 0.5 % expire after 5 minutes; everything else is permanent.
        return n % 200 === 0 ? { key: `k${n}`, value: n, ttlMs: 5 * 60_000 } : { key: `k${n}`, value: n }
      }),
    )
  }
  now += 6 * 60_000
  // Touch everything except 0.5 % that stays idle (due for hot → warm) and the expiring 0.5 %.
  const keys: string[] = []
  for (let n = 0; n < N; n++) if (n % 200 !== 0 && n % 200 !== 1) keys.push(`k${n}`)
  for (let i = 0; i < keys.length; i += 10_000) await mem.getMany(keys.slice(i, i + 10_000))
  const started = performance.now()
  const stats = await mem.gc()
  const ms = performance.now() - started
  record('gc over 1M entries with 1 % due (goal ≤ 50 ms)', ms, 'ms', `expired ${stats.expired}, demoted ${stats.demoted}`)
  const idleStarted = performance.now()
  await mem.gc()
  record('gc over 1M entries with nothing due', performance.now() - idleStarted, 'ms')
  await mem.close()
}

// ── Recall under churn: deleted vectors' graph places reused ────────────────────────
async function recallChurn(): Promise<void> {
  const N = 20_000
  const DIMS = 384
  const ROUNDS = 4
  const pool = clusteredVectors(N * 3, DIMS, 100, 5)
  const queries = clusteredVectors(200, DIMS, 100, 9)
  const open = () =>
    createMemory({ maintenanceIntervalMs: 0, policy: plainPolicy, hot: { maxBytes: 1e12 }, warm: { maxBytes: 1e12 }, pressure: { checkIntervalMs: 0 } })
  /** Recall@10 of a memory against exact top 10s (key sets) for the queries. */
  const recallAt10 = async (mem: Awaited<ReturnType<typeof open>>, exact: Array<Set<string>>) => {
    let hits = 0
    for (const [i, q] of queries.entries()) hits += (await mem.recall(q, { k: 10 })).filter((h) => exact[i]!.has(h.key)).length
    return hits / (queries.length * 10)
  }
  const mem = await open()
  const live = new Map<string, Float32Array>()
  let next = 0
  const fresh = (count: number) =>
    Array.from({ length: count }, () => {
      live.set(`v${next}`, pool[next]!)
      return { key: `v${next}`, value: next, vector: pool[next++]! }
    })
  for (let i = 0; i < N; i += 2_000) await mem.putMany(fresh(2_000))
  await mem.recall(queries[0]!, { k: 1 })
  const before = (await mem.stats()).embeddings.index.bytes
  // Each round deletes half the live vectors, scattered, and puts as many new ones.
  let churned = 0
  let churnMs = 0
  for (let round = 0; round < ROUNDS; round++) {
    const gone = [...live.keys()].filter((_, i) => (i * 7 + round * 3) % 10 < 5)
    const started = performance.now()
    await Promise.all(gone.map((key) => (live.delete(key), mem.delete(key))))
    for (let i = 0; i < gone.length; i += 2_000) await mem.putMany(fresh(Math.min(2_000, gone.length - i)))
    await mem.recall(queries[0]!, { k: 1 })
    churnMs += performance.now() - started
    churned += gone.length
  }
  const after = (await mem.stats()).embeddings.index.bytes
  const keys = [...live.keys()]
  const vectors = keys.map((key) => live.get(key)!)
  const exact = queries.map((q) => new Set(exactTopK(vectors, q, 10).map((i) => keys[i]!)))
  const churnedRecall = await recallAt10(mem, exact)
  await mem.close()
  // The peer: a memory built fresh over the same live vectors, the same queries.
  const rebuilt = await open()
  const entries = [...live].map(([key, vector]) => ({ key, value: 0, vector }))
  for (let i = 0; i < entries.length; i += 2_000) await rebuilt.putMany(entries.slice(i, i + 2_000))
  const freshRecall = await recallAt10(rebuilt, exact)
  await rebuilt.close()
  const scale = `${N.toLocaleString('en-US')} live × ${DIMS}, ${ROUNDS} rounds deleting half`
  record(`recall@10 after churn (${scale})`, churnedRecall, 'ratio')
  record('recall@10 of a memory built fresh over the same live vectors', freshRecall, 'ratio')
  record('index bytes after churn / before it', after / before, 'ratio', `${(after / 1e6).toFixed(1)} MB for ${live.size.toLocaleString('en-US')} live`)
  record('deletes + puts under churn, through recall catch-up', (churned * 1000) / churnMs, 'vectors/s')
}

// Each section runs in a child process of its own: a clean heap for the memory figure, and no
// section's garbage collection landing in another's timings.
const sections: Record<string, () => Promise<void>> = { hotGet, codec, registryBytes, gcAtScale, recallChurn }
const only = process.argv[2]
if (only) {
  await sections[only]!()
  process.stdout.write(`ROWS ${JSON.stringify(rows)}\n`)
} else {
  const { execFileSync } = await import('node:child_process')
  const file = new URL(import.meta.url).pathname
  const all: typeof rows = []
  for (const name of Object.keys(sections)) {
    const output = execFileSync(process.execPath, [...process.execArgv, file, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    for (const line of output.split('\n')) {
      if (line.startsWith('ROWS ')) all.push(...JSON.parse(line.slice(5)))
      else if (line) console.log(line)
    }
  }
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
  const out = new URL('./results/core.json', import.meta.url)
  writeFileSync(
    out,
    JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: (await import('node:os')).cpus().length, rows: all }, null, 2) + '\n',
  )
  console.log(`\nwritten to ${out.pathname}`)
}

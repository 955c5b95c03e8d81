/**
 * The busy section (issue #19): hot reads while background work runs. The page issues hot gets
 * back to back while the engine's worker runs one kind of background work, and the same reads
 * with nothing running on the same memory just before (the idle peer of that round). Reported:
 * p99 and the longest read of each kind, and p99 / idle p99 as a paired ratio over rounds.
 *
 * Two references come first: page workers that only spin, one and two of them, with no engine
 * work at all. On 2 cores, one spinning thread leaves reads as fast as idle; two (as many as the
 * compressors a move starts) already put p99 at ~10× idle: the floor any background work that
 * keeps both cores busy sits on.
 */
import { openMemory, type RemoteMemory } from '../../src/index.ts'
import type { ChatRecord } from '../corpus.ts'
import { paired, type Add, type Rounds } from './rounds.ts'

const plain = { maintenanceIntervalMs: 0, policy: { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' as const } } } }
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!
const median = (xs: number[]) => quantile(xs, 0.5)
let seq = 0
const fresh = (what: string) => `bench-busy-${what}-${Date.now()}-${seq++}`
const HOT_KEYS = 100
const ROUNDS = 3
const IDLE_MS = 1500

interface Kind {
  /** Sets the memory up for the work (not timed). */
  prepare(mem: RemoteMemory, corpus: ChatRecord[], round: number): Promise<void>
  /** The background work, as an app (or maintenance) starts it. */
  run(mem: RemoteMemory, round: number): Promise<unknown>
}

const warmItems = (corpus: ChatRecord[], prefix: string, extra: object = {}) =>
  corpus.map((r) => ({ key: `${prefix}${r.id}`, value: r, tier: 'warm' as const, ...extra }))

async function putAll(mem: RemoteMemory, items: Array<Parameters<RemoteMemory['putMany']>[0][number]>): Promise<void> {
  for (let i = 0; i < items.length; i += 2000) await mem.putMany(items.slice(i, i + 2000))
  await mem.flush()
}

/** Reads a stream to its end, keeping nothing (as an upload would). */
async function drain(stream: ReadableStream<Uint8Array>): Promise<number> {
  const reader = stream.getReader()
  let bytes = 0
  for (let read = await reader.read(); !read.done; read = await reader.read()) bytes += read.value.byteLength
  return bytes
}

/**
 * The platform's floor: no engine work at all, only as many page workers spinning as the
 * compressors a move starts (two on 2 cores). Reads then wait only for the OS to run the threads.
 */
async function spinWorkers(count: number, ms: number): Promise<void> {
  const source = `onmessage = (e) => { const end = performance.now() + e.data; while (performance.now() < end) {} postMessage(0) }`
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }))
  const workers = Array.from({ length: count }, () => new Worker(url))
  await Promise.all(workers.map((worker) => new Promise((resolve) => ((worker.onmessage = resolve), worker.postMessage(ms)))))
  for (const worker of workers) worker.terminate()
  URL.revokeObjectURL(url)
}

const KINDS: Record<string, Kind> = {
  'one page worker spinning for 3 s (reference: no engine work)': {
    prepare: async () => undefined,
    run: () => spinWorkers(1, 3000),
  },
  'two page workers spinning for 3 s (reference: no engine work)': {
    prepare: async () => undefined,
    run: () => spinWorkers(2, 3000),
  },
  'warm → cold move (gc, 10k entries)': {
    async prepare(mem, corpus, round) {
      await putAll(mem, warmItems(corpus, `m${round}:`))
      await mem.configure({ policy: { warmIdleMs: 0 } })
    },
    run: (mem) => mem.gc(),
  },
  'archive at level 9 (10k entries)': {
    prepare: (mem, corpus, round) => putAll(mem, warmItems(corpus, `a${round}:`, { tags: [`a${round}`] })),
    run: (mem, round) => mem.archive({ tag: `a${round}`, level: 9 }),
  },
  'full backup (10k entries)': {
    prepare: (mem, corpus, round) => putAll(mem, warmItems(corpus, `b${round}:`)),
    run: async (mem) => drain(await mem.backup()),
  },
  'gc of 10k expired entries': {
    async prepare(mem, corpus, round) {
      await putAll(mem, warmItems(corpus, `e${round}:`, { ttlMs: 1 }))
      await new Promise((resolve) => setTimeout(resolve, 5))
    },
    run: (mem) => mem.gc(),
  },
}

/** Hot gets back to back until `until` settles (or for `ms`); each one's time in ms. */
async function readLoop(mem: RemoteMemory, until: Promise<unknown> | number, label: string): Promise<number[]> {
  let running = true
  const stop = typeof until === 'number' ? new Promise((resolve) => setTimeout(resolve, until)) : until
  const stopped = stop.finally(() => (running = false))
  const times: number[] = []
  for (let i = 0; running; i++) {
    const started = performance.now()
    await mem.get(`hot${i % HOT_KEYS}`)
    const took = performance.now() - started
    times.push(took)
    // In a trace (BENCH_TRACE), each slow read is a span to line up with what the threads ran.
    if (took > 16) performance.measure(`slow-get ${label}`, { start: started, end: started + took })
  }
  await stopped
  return times
}

export async function busySection(add: Add, log: (line: string) => void, corpus: ChatRecord[], only?: string[]): Promise<void> {
  for (const [name, kind] of Object.entries(KINDS)) {
    if (only && !only.some((part) => name.includes(part))) continue
    const rounds: Rounds = { idle: [], busy: [] }
    const longest: number[] = []
    const idleLongest: number[] = []
    const took: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      // A memory per round: each kind starts from the same state, and one round's leftovers
      // (cold segments to compact, pages to reclaim) do not land in the next round's reads.
      const mem = await openMemory({ name: fresh('mem'), ...plain, warm: { maxBytes: 1e12 }, cold: { maxBytes: 1e12 } })
      await mem.putMany(Array.from({ length: HOT_KEYS }, (_, i) => ({ key: `hot${i}`, value: { i, text: 'a hot note' }, tier: 'hot' as const })))
      await kind.prepare(mem, corpus, round)
      const idle = await readLoop(mem, IDLE_MS, 'idle')
      performance.mark(`busy:${name}:start`)
      const workStarted = performance.now()
      const work = kind.run(mem, round).then(() => (workMs = performance.now() - workStarted))
      let workMs = 0
      const busy = await readLoop(mem, work, name)
      performance.mark(`busy:${name}:end`)
      await mem.close()
      rounds.idle!.push(quantile(idle, 0.99))
      rounds.busy!.push(quantile(busy, 0.99))
      longest.push(Math.max(...busy))
      idleLongest.push(Math.max(...idle))
      took.push(workMs)
      const q = (xs: number[]) => [0.5, 0.9, 0.99].map((p) => quantile(xs, p).toFixed(2)).join(' / ')
      const line = `  ${name}, round ${round + 1}: ${busy.length} gets, p50 / p90 / p99 ${q(busy)} ms (idle ${q(idle)}), longest ${Math.max(...busy).toFixed(1)} ms, the work took ${workMs.toFixed(0)} ms`
      log(line)
      console.log(line)
    }
    const p99 = paired(rounds, 'busy', 'idle')
    add({ group: 'busy', name: `hot get p99 / longest, idle (before: ${name})`, value: median(rounds.idle!), unit: `ms / ${median(idleLongest).toFixed(1)}` })
    add({
      group: 'busy',
      name: `hot get p99 during ${name}`,
      value: median(rounds.busy!),
      unit: 'ms',
      peer: 'idle p99',
      ...p99,
      goal: '≤ 2×',
      pass: p99.ratio <= 2,
    })
    // What giving way costs the work: background work waits while reads keep arriving.
    add({ group: 'busy', name: `${name}: time it took while the reads ran (median)`, value: median(took), unit: 'ms' })
    const worst = median(longest)
    const isMove = name.startsWith('warm → cold')
    add({
      group: 'busy',
      name: `longest hot get during ${name} (median of ${ROUNDS} rounds)`,
      value: worst,
      unit: 'ms',
      ...(isMove ? { goal: '≤ 16 ms', pass: worst <= 16 } : {}),
    })
  }
}

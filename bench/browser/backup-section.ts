/**
 * The backup section (issue #16): a backup of 100,000 entries streamed out of the worker against
 * reading the same records with getMany, its peak extra memory, and a restore of it against
 * putMany of the same entries. Same run, rounds interleaved, ratios of medians of paired rounds.
 */
import { openMemory, type RemoteMemory } from '../../src/index.ts'

import type { ChatRecord } from '../corpus.ts'
type Add = (row: { group: string; name: string; value: number; unit: string; peer?: string; ratio?: number; goal?: string; pass?: boolean }) => void

const ENTRIES = 100_000
const BATCH = 10_000
const plain = { maintenanceIntervalMs: 0, policy: { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' as const } } } }
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
let seq = 0
const fresh = (what: string) => `bench-backup-${what}-${Date.now()}-${seq++}`

/** The page's workers' JS heap around one operation, sampled by the runner over the DevTools protocol (bench/heap-sampler.ts). */
type HeapWindow = { baseline: number; peak: number; samples: number }
declare global {
  interface Window {
    benchHeap?: (edge: 'start' | 'stop') => Promise<HeapWindow | undefined>
  }
}

function items(fixed: ChatRecord[], from: number, count: number) {
  return Array.from({ length: count }, (_, j) => {
    const record = fixed[(from + j) % fixed.length]!
    return { key: `m${from + j}`, value: { ...record, id: `m${from + j}` }, tier: 'warm' as const }
  })
}

async function fill(mem: RemoteMemory, fixed: ChatRecord[]): Promise<number> {
  const started = performance.now()
  for (let i = 0; i < ENTRIES; i += BATCH) await mem.putMany(items(fixed, i, BATCH))
  return performance.now() - started
}

/** Reads a stream to its end, keeping nothing (as an upload would). */
async function drain(stream: ReadableStream<Uint8Array>): Promise<{ ms: number; bytes: number }> {
  const started = performance.now()
  let bytes = 0
  const reader = stream.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    bytes += value.byteLength
  }
  return { ms: performance.now() - started, bytes }
}

export async function backupSection(add: Add, log: (line: string) => void, fixed: ChatRecord[]): Promise<void> {
  const name = fresh('source')
  const source = await openMemory({ name, ...plain })
  const putMs = await fill(source, fixed)
  log(`  filled ${ENTRIES} entries in ${(putMs / 1000).toFixed(1)} s`)
  const keys = Array.from({ length: ENTRIES }, (_, i) => `m${i}`)
  const rounds = 3
  const backupMs: number[] = []
  const readMs: number[] = []
  let zip: Blob | undefined
  for (let r = 0; r < rounds; r++) {
    log(`  round ${r + 1}: getMany of every record`)
    let started = performance.now()
    for (let i = 0; i < ENTRIES; i += 1000) await source.getMany(keys.slice(i, i + 1000))
    readMs.push(performance.now() - started)
    log(`  round ${r + 1}: backup`)
    started = performance.now()
    if (r === 0) {
      // The first round keeps the zip for the restore rounds.
      zip = await new Response(await source.backup()).blob()
      backupMs.push(performance.now() - started)
    } else {
      backupMs.push((await drain(await source.backup())).ms)
    }
  }
  // Memory in a round of its own, in a fresh worker: the one that has just run the timed rounds
  // holds their garbage. The workers' used JS heap, garbage included, sampled every few ms: its
  // peak over the backup against before it; and the same for getMany of every record (the peer).
  await source.close()
  const heapIn = async (run: (mem: RemoteMemory) => Promise<unknown>, writtenSinceOpen = false) => {
    const mem = await openMemory({ name, ...plain })
    // The first write after an open checkpoints the journal (every entry's metadata, in this turn);
    // a backup's own last write is it when nothing else came first.
    if (writtenSinceOpen) await mem.put('written-since-open', 1)
    await mem.stats()
    await window.benchHeap?.('start')
    await run(mem)
    const heap = await window.benchHeap?.('stop')
    await mem.close()
    return heap
  }
  const extra = (heap: HeapWindow | undefined) => (heap ? (heap.peak - heap.baseline) / 2 ** 20 : Number.NaN)
  // Three rounds of each, interleaved, and the median: the peak follows when V8 collects, and
  // one round of the same code read anywhere from 16 to 36 MiB (3 December).
  const heapRounds: Record<'read' | 'backup' | 'steady', Array<HeapWindow | undefined>> = { read: [], backup: [], steady: [] }
  for (let r = 0; r < rounds; r++) {
    heapRounds.read.push(
      await heapIn(async (mem) => {
        for (let i = 0; i < ENTRIES; i += 1000) await mem.getMany(keys.slice(i, i + 1000))
      }),
    )
    heapRounds.backup.push(await heapIn(async (mem) => drain(await mem.backup())))
    heapRounds.steady.push(await heapIn(async (mem) => drain(await mem.backup()), true))
  }
  /** The median round's extra MiB, and the unit with every round's. */
  const heapOf = (windows: Array<HeapWindow | undefined>) => {
    const values = windows.map(extra)
    return {
      value: median(values),
      unit: `MiB (rounds ${[...values]
        .sort((a, b) => a - b)
        .map((v) => v.toFixed(1))
        .join(', ')})`,
    }
  }
  console.log(
    `engine worker's heap, extra MiB a round: backup ${heapRounds.backup.map((w) => `${extra(w).toFixed(1)} (${w?.samples} samples)`).join(', ')}; getMany ${heapRounds.read.map((w) => extra(w).toFixed(1)).join(', ')}`,
  )
  const ratio = median(readMs.map((ms, r) => ms / backupMs[r]!))
  add({ group: 'backup', name: `backup of ${ENTRIES.toLocaleString('en')} entries (~1 KiB), streamed to the page`, value: median(backupMs) / 1000, unit: 's' })
  add({ group: 'backup', name: 'backup size', value: zip!.size / 2 ** 20, unit: 'MiB' })
  add({
    group: 'backup',
    name: 'backup throughput vs getMany of the same records',
    value: ratio,
    unit: '×',
    peer: 'getMany(1000) × 100',
    ratio,
    goal: '≥ 0.5×',
    pass: ratio >= 0.5,
  })
  add({ group: 'backup', name: "peak extra JS heap of the engine's worker, getMany of every record (reference)", ...heapOf(heapRounds.read) })
  add({
    group: 'backup',
    name: "peak extra JS heap of the engine's worker, backup of a memory written since it opened (no checkpoint in it; reference)",
    ...heapOf(heapRounds.steady),
  })
  const backupPeak = heapOf(heapRounds.backup)
  add({
    group: 'backup',
    name: "peak extra JS heap of the engine's worker during a backup, first write after open (garbage included)",
    ...backupPeak,
    goal: '≤ 32 MiB',
    // Fewer than ten samples is no peak: the row says missed rather than a number that means nothing.
    pass: heapRounds.backup.every((w) => w !== undefined && w.samples >= 10) && backupPeak.value <= 32,
  })

  const restoreMs: number[] = []
  const putManyMs: number[] = []
  for (let r = 0; r < rounds; r++) {
    log(`  round ${r + 1}: putMany of the same entries`)
    const target = await openMemory({ name: fresh('put'), ...plain })
    putManyMs.push(await fill(target, fixed))
    await target.close()
    log(`  round ${r + 1}: restoreBackup`)
    const restored = await openMemory({ name: fresh('restore'), ...plain })
    const started = performance.now()
    const result = await restored.restoreBackup(zip!)
    restoreMs.push(performance.now() - started)
    if (result.restored !== ENTRIES) throw new Error(`restored ${result.restored} of ${ENTRIES}`)
    await restored.close()
  }
  const restoreRatio = median(putManyMs.map((ms, r) => ms / restoreMs[r]!))
  add({ group: 'backup', name: `restoreBackup of ${ENTRIES.toLocaleString('en')} entries from a File`, value: median(restoreMs) / 1000, unit: 's' })
  add({
    group: 'backup',
    name: 'restore rate vs putMany of the same entries',
    value: restoreRatio,
    unit: '×',
    peer: 'putMany(10,000) × 10',
    ratio: restoreRatio,
    goal: '≥ 0.5×',
    pass: restoreRatio >= 0.5,
  })
}

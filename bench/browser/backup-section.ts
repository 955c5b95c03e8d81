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

/** Bytes held by the page's dedicated workers (the engine's and its compression workers), measured eagerly. */
async function workersBytes(): Promise<number | undefined> {
  const measure = (
    performance as unknown as {
      measureUserAgentSpecificMemory?: () => Promise<{ breakdown: Array<{ bytes: number; attribution: Array<{ scope?: string }> }> }>
    }
  ).measureUserAgentSpecificMemory
  if (!measure || !crossOriginIsolated) return undefined
  const result = await measure.call(performance)
  let bytes = 0
  for (const entry of result.breakdown) if (entry.attribution.some((a) => a.scope === 'DedicatedWorkerGlobalScope')) bytes += entry.bytes
  return bytes
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

/** Reads a stream to its end, keeping nothing (as an upload would), and samples the workers' memory meanwhile. */
async function drain(stream: ReadableStream<Uint8Array>, sample: boolean): Promise<{ ms: number; bytes: number; peak: number | undefined }> {
  const started = performance.now()
  let bytes = 0
  let peak: number | undefined
  let sampling = sample
  const sampler = (async () => {
    while (sampling) {
      const now = await workersBytes()
      if (now === undefined) return
      peak = Math.max(peak ?? 0, now)
    }
  })()
  const reader = stream.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    bytes += value.byteLength
  }
  const ms = performance.now() - started
  sampling = false
  await sampler
  return { ms, bytes, peak }
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
  let peakExtra = 0
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
      backupMs.push((await drain(await source.backup(), false)).ms)
    }
  }
  // Memory in a round of its own: measuring forces collections in every context, which would slow a timed round.
  const baseline = await workersBytes()
  const { peak } = await drain(await source.backup(), true)
  if (baseline !== undefined && peak !== undefined) peakExtra = Math.max(0, peak - baseline)
  await source.close()
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
  add({
    group: 'backup',
    name: 'peak extra memory of the workers during a backup',
    value: peakExtra / 2 ** 20,
    unit: 'MiB',
    goal: '≤ 32 MiB',
    pass: peakExtra > 0 && peakExtra <= 32 * 2 ** 20,
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

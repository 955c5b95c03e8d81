import { deflateSync, Zip, ZipDeflate, ZipPassThrough, type AsyncFlateStreamHandler, type ZipInputFile } from 'fflate'
import { randomId } from '../engine/random-id.ts'
import type { Deflater } from '../store/deflater.ts'
import { fileSums } from './file-sums.ts'
import { closedError } from '../api/calls.ts'
import { getMany, reportBackgroundError, storeKey, type EngineContext } from '../engine/engine-context.ts'
import { enqueuePuts, preparePut } from '../engine/put-pipeline.ts'
import { TimeSlices } from '../engine/time-slices.ts'
import { grownArray } from '../engine/grown-array.ts'
import { EMBEDDING_LAYER } from '../embeddings/embedding-cache.ts'
import { formatHash, hashMatches } from '../persistence/content-hash.ts'
import { readWarm } from '../persistence/warm-values.ts'
import { roundStored, storeKeyOf } from '../registry/entry-record.ts'
import { COLD, EVICTABLE, TIER_NAMES } from '../registry/registry.ts'
import {
  BACKUP_FORMAT,
  BACKUP_VERSION,
  MANIFEST_HASH_NAME,
  MANIFEST_NAME,
  RECORD_FILE_TARGET,
  recordFileName,
  type BackupManifest,
  type ManifestFile,
  type RecordMeta,
} from './backup-format.ts'
import { BACKUP_NAMESPACE, backedUp, fingerprintInto, readBackupState, STATE_KEY, toStoredState, type BackupState } from './backup-state.ts'
import { RecordFileBuilder } from './record-frames.ts'
import { sha256Hex } from './sha256-hex.ts'
import { checkBackupOptions } from './backup-options.ts'

/** Entries read per lane task: writes issued meanwhile wait for one chunk, never for the whole backup. */
const READ_CHUNK = 1024
/** What a backup takes, decided in one lane task: every entry's fingerprint, and which of them changed since the parent. */
interface BackupPlan {
  id: string
  parent: BackupState | undefined
  parentIndex: Map<string, number> | undefined
  createdAt: number
  seqTo: number
  /**
   * Each planned entry's namespace and key: the registry's own strings, referenced. A store key
   * made for each (namespace NUL key) was ~6 MiB of a 100k backup's live heap, for its whole run.
   */
  namespaces: string[]
  keys: string[]
  fp: Uint32Array
  /** Indices into keys of the entries this backup carries. */
  include: number[]
  /** Store keys the parent held that are gone. */
  deletes: string[]
  /** Per key: 0 once found gone (it leaves the saved state). */
  present: Uint8Array
}

async function planBackup(ctx: EngineContext, incremental: boolean): Promise<BackupPlan> {
  const { reg } = ctx
  const now = ctx.clock.now()
  // In slices: an incremental's fingerprints took ~20 ms a 10k entries in one go, and at 100k
  // reading the parent's state, indexing its keys and finding the deleted ones 15–50 ms each
  // (measured). In the lane, so nothing the plan reads changes while reads get in.
  const slices = new TimeSlices({ background: true })
  const parent = incremental ? await readBackupState(ctx, slices) : undefined
  let parentIndex: Map<string, number> | undefined
  if (parent) {
    parentIndex = new Map()
    for (let i = 0; i < parent.keys.length; i++) {
      parentIndex.set(parent.keys[i]!, i)
      const pause = slices.pace()
      if (pause) await pause
    }
  }
  /** Per key of the parent: 1 once found among the entries now. */
  const found = new Uint8Array(parent?.keys.length ?? 0)
  const namespaces: string[] = []
  const keys: string[] = []
  // An incremental's fingerprints as they are made; a number[] boxed most of the words.
  let fps = new Uint32Array(parent ? 2 * reg.size : 0)
  const mark = new Uint32Array(2)
  const include: number[] = []
  for (const slot of reg.slots()) {
    const pause = slices.pace()
    if (pause) await pause
    if (!backedUp(ctx, slot, now)) continue
    const namespace = reg.namespaces[slot]!
    const key = reg.keys[slot]!
    // A full backup takes every entry: its fingerprints are made as the entries are read.
    if (!parent) {
      include.push(keys.length)
      namespaces.push(namespace)
      keys.push(key)
      continue
    }
    fingerprintInto(ctx, slot, mark, 0)
    const at = parentIndex!.get(storeKeyOf(namespace, key))
    if (at !== undefined) found[at] = 1
    if (at === undefined || parent.fp[2 * at] !== mark[0] || parent.fp[2 * at + 1] !== mark[1]) include.push(keys.length)
    if (2 * keys.length + 2 > fps.length) fps = grownArray(fps, 2 * fps.length + 2)
    fps[2 * keys.length] = mark[0]!
    fps[2 * keys.length + 1] = mark[1]!
    namespaces.push(namespace)
    keys.push(key)
  }
  const deletes: string[] = []
  for (let i = 0; i < found.length; i++) {
    if (!found[i]) deletes.push(parent!.keys[i]!)
    const pause = slices.pace()
    if (pause) await pause
  }
  return {
    id: randomId(16),
    parent,
    parentIndex,
    createdAt: now,
    seqTo: ctx.feed.nextSeq - 1,
    namespaces,
    keys,
    fp: parent ? fps.slice(0, 2 * keys.length) : new Uint32Array(2 * keys.length),
    include,
    deletes,
    present: new Uint8Array(keys.length).fill(1),
  }
}

/**
 * `mem.backup()`: a zip streamed as it is read (docs/backup-format.md). The entries are read a
 * chunk per lane task, each chunk as it stands then: writes go on meanwhile, and an entry
 * changed after the backup began is taken as it is when its chunk is read. Memory stays bounded
 * by one record file (~1 MiB) plus the keys' fingerprints.
 */
export async function openBackupStream(
  ctx: EngineContext,
  options: unknown,
  /** Save what it held as the next incremental's parent (false for a snapshot, which is not in the app's chain). */
  chained = true,
): Promise<ReadableStream<Uint8Array>> {
  const { incremental, level, onProgress } = checkBackupOptions(options)
  const plan = await ctx.lane.run(() => planBackup(ctx, incremental))
  const total = plan.include.length + plan.deletes.length
  let done = 0
  const files: ManifestFile[] = []
  const counts = { entries: 0, deletes: 0, valueBytes: 0, damaged: 0 }
  const out: Uint8Array[] = []
  let zipError: unknown
  const zip = new Zip((error, chunk) => {
    if (error) zipError = error
    else out.push(chunk)
  })
  let builder = new RecordFileBuilder()
  let next = 0
  const readNext = () => {
    const chunk = plan.include.slice(next, next + READ_CHUNK)
    next += chunk.length
    const read = ctx.lane.run(() => readChunk(ctx, plan, chunk, counts))
    read.catch(() => undefined)
    return read
  }
  let reading: ReturnType<typeof readNext> | undefined
  let phase: 'entries' | 'deletes' | 'end' | 'closed' = 'entries'

  const addFile = (name: string, bytes: Uint8Array, stored = false) => {
    const file = stored ? new ZipPassThrough(name) : new ZipDeflate(name, { level: level as 0 })
    zip.add(file)
    file.push(bytes, true)
    if (zipError) throw zipError
  }
  /** A member deflated elsewhere (or stored where deflate saved too little), added to the zip as it is. */
  const addDeflated = (name: string, size: number, crc: number, payload: Uint8Array, deflated: boolean) => {
    const file = { filename: name, size, crc, compression: deflated ? 8 : 0, ondata: undefined as unknown as AsyncFlateStreamHandler }
    zip.add(file as unknown as ZipInputFile)
    file.ondata(null, payload as Uint8Array<ArrayBuffer>, true)
    if (zipError) throw zipError
  }
  const deflate: Deflater =
    ctx.deflate ??
    ((payloads, at) =>
      Promise.all(payloads.map(async (raw) => ({ sums: await fileSums(raw), payload: deflateSync(raw, { level: at as 0 }), deflated: true, raw }))))
  /** Buffers of files deflated and done with, for the next files to be written in (RecordFileBuilder). */
  const spare: ArrayBuffer[] = []
  /** Record files being deflated, oldest first: each joins the zip in order once done; two may be in flight. */
  const deflating: Array<Promise<() => void>> = []
  const flushDeflated = async (keep: number) => {
    while (deflating.length > keep) (await deflating.shift()!)()
  }
  const closeRecordFile = async () => {
    if (builder.records === 0) return
    const bytes = builder.finish()
    const name = recordFileName(files.length + 1)
    // The hash is filled in when the deflater gives it back; the manifest is written after every file is in.
    const entry: ManifestFile = { name, sha256: '', bytes: bytes.byteLength, records: builder.records }
    files.push(entry)
    builder = new RecordFileBuilder(spare.pop())
    // The bytes are handed to the deflater (maybe transferred to its worker), which also hashes
    // them there: nothing here reads them after.
    const done = deflate([bytes], level).then(([result]) => () => {
      entry.sha256 = result!.sums.sha256
      addDeflated(name, entry.bytes, result!.sums.crc32, result!.payload, result!.deflated)
      // Stored as it is, the raw is the member's bytes, still to be read from the stream.
      if (result!.deflated && result!.raw && spare.length < 2) spare.push(result!.raw.buffer as ArrayBuffer)
    })
    done.catch(() => undefined)
    deflating.push(done)
    await flushDeflated(2)
  }
  // Framing a chunk's records took 60–200 ms on the engine's thread in one go (measured): it
  // runs in slices, and a file is closed as soon as it is full.
  const slices = new TimeSlices({ background: true })
  const step = async (): Promise<void> => {
    if (ctx.closed) throw closedError()
    if (phase === 'entries') {
      // The next chunk is read while this one is framed, compressed and hashed: the stores' I/O
      // overlaps the CPU work instead of taking turns with it.
      const records = await (reading ?? readNext())
      reading = next < plan.include.length ? readNext() : undefined
      for (const { meta, bytes } of records) {
        builder.add(meta, bytes)
        if (builder.bytes >= RECORD_FILE_TARGET) await closeRecordFile()
        await slices.pace()
      }
      done += records.chunk
      if (!reading) phase = 'deletes'
      if (records.chunk > 0) onProgress?.(done, total)
    } else if (phase === 'deletes') {
      for (const key of plan.deletes) {
        const split = key.indexOf('\u0000')
        builder.add({ op: 'delete', ns: key.slice(0, split), key: key.slice(split + 1) }, undefined)
        counts.deletes++
        if (builder.bytes >= RECORD_FILE_TARGET) await closeRecordFile()
        await slices.pace()
      }
      // Deletes found while reading (entries gone since the plan) are extra: the total stays as announced.
      if (done < total || total === 0) onProgress?.(total, total)
      done = total
      phase = 'end'
    } else {
      await closeRecordFile()
      await flushDeflated(0)
      const manifest: BackupManifest = {
        format: BACKUP_FORMAT,
        version: BACKUP_VERSION,
        id: plan.id,
        parentId: plan.parent?.id ?? null,
        kind: plan.parent ? 'incremental' : 'full',
        createdAt: plan.createdAt,
        seq: { from: plan.parent?.seqTo ?? 0, to: plan.seqTo },
        counts,
        files,
      }
      const manifestBytes = new TextEncoder().encode(JSON.stringify(manifest, null, 1))
      addFile(MANIFEST_NAME, manifestBytes)
      addFile(MANIFEST_HASH_NAME, new TextEncoder().encode(`${await sha256Hex(manifestBytes)}\n`), true)
      zip.end()
      if (zipError) throw zipError
      phase = 'closed'
      if (chained) await saveState(ctx, plan)
    }
  }

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          while (out.length === 0 && phase !== 'closed') await step()
          // Each piece as the zip gave it: joining them cost the engine's thread 2–9 ms a pull
          // (measured, ~0.6 MiB), and a stream sent to the page copies every chunk anyway.
          for (const chunk of out.splice(0)) controller.enqueue(chunk)
          if (phase === 'closed' && out.length === 0) controller.close()
        } catch (error) {
          controller.error(error)
        }
      },
      cancel() {
        phase = 'closed'
        zip.terminate()
      },
    },
    // About two compressed record files (~0.3–0.5 MiB each) made ahead of the reader: work goes on
    // while a chunk crosses to the page, and memory stays bounded.
    { highWaterMark: 1 << 20, size: (chunk) => chunk.byteLength },
  )
}

/**
 * A chunk's records, each metadata as its JSON: a chunk waits across time slices (and the next
 * one is read meanwhile), long enough for V8 to move what it holds to the old generation, where
 * garbage stays until a full collection. One string a record is less to move than the metadata
 * object, its tags and hash, and the string made from them later.
 */
type ChunkRecords = Array<{ meta: string; bytes: Uint8Array }> & { chunk: number }

/** One chunk of entries, read in one lane task so each record's metadata and bytes agree. */
async function readChunk(
  ctx: EngineContext,
  plan: BackupPlan,
  chunk: readonly number[],
  counts: { entries: number; valueBytes: number; damaged: number },
): Promise<ChunkRecords> {
  const records = Object.assign([], { chunk: chunk.length }) as ChunkRecords
  const { reg } = ctx
  const now = ctx.clock.now()
  const warm: Array<{ i: number; slot: number }> = []
  const cold: Array<{ i: number; slot: number }> = []
  for (const i of chunk) {
    const slot = reg.find(plan.namespaces[i]!, plan.keys[i]!)
    if (slot < 0 || !backedUp(ctx, slot, now)) {
      gone(plan, i)
      continue
    }
    ;(reg.tier[slot] === COLD ? cold : warm).push({ i, slot })
  }
  const [warmBytes, coldBytes] = await Promise.all([
    warm.length === 0
      ? []
      : readWarm(
          ctx,
          warm.map((w) => w.slot),
          false,
          true,
        ),
    cold.length === 0
      ? []
      : getMany(
          ctx.cold,
          cold.map((c) => storeKey(ctx, c.slot)),
          true,
        ),
  ])
  // Checking a chunk's hashes ran 10–40 ms in one go: in slices, reads get in between (writes
  // still wait for the whole chunk, which keeps each record's metadata and bytes in agreement).
  const slices = new TimeSlices({ background: true })
  const take = async (list: Array<{ i: number; slot: number }>, values: (Uint8Array | undefined)[]) => {
    for (let j = 0; j < list.length; j++) {
      await slices.pace()
      const { i, slot } = list[j]!
      const bytes = values[j]
      if (!bytes || !hashMatches(bytes, reg.hashHi[slot]!, reg.hashLo[slot]!)) {
        // A damaged record is left out; the saved state keeps what the parent had of it, so the
        // next incremental neither deletes the parent's copy nor forgets to carry a repaired one.
        counts.damaged++
        const at = parentAt(plan, i)
        if (at === undefined) plan.present[i] = 0
        else plan.fp.set(plan.parent!.fp.subarray(2 * at, 2 * at + 2), 2 * i)
        continue
      }
      // The state saved at the end must name what this backup holds, not what the plan saw: a value
      // changed A → B before its chunk was read, then back to A, must not look unchanged next time.
      fingerprintInto(ctx, slot, plan.fp, 2 * i)
      records.push({ meta: JSON.stringify(recordMeta(ctx, slot)), bytes })
      counts.entries++
      counts.valueBytes += bytes.byteLength
    }
  }
  await take(warm, warmBytes)
  await take(cold, coldBytes)
  return records
}

/** Where the parent's state holds the plan's entry i, if it does. */
function parentAt(plan: BackupPlan, i: number): number | undefined {
  return plan.parentIndex?.get(storeKeyOf(plan.namespaces[i]!, plan.keys[i]!))
}

/** An entry of the plan that is gone by the time its chunk is read: a delete if the parent held it. */
function gone(plan: BackupPlan, i: number): void {
  plan.present[i] = 0
  const at = parentAt(plan, i)
  if (at !== undefined) plan.deletes.push(plan.parent!.keys[at]!)
}

function recordMeta(ctx: EngineContext, slot: number): RecordMeta {
  // From the registry's columns, not through toEntryInfo: an EntryInfo and its tags' copy a
  // record were ~25 of a 100k backup's ~150 MiB of garbage (a sampling heap profile). The meta
  // is made into JSON at once, so the tags are not copied.
  const { reg } = ctx
  const expiresAt = reg.expiresAt[slot]!
  const meta: RecordMeta = {
    ns: reg.namespaces[slot]!,
    key: reg.keys[slot]!,
    type: reg.typeNames.name(reg.type[slot]!),
    layer: reg.layerNames.name(reg.layer[slot]!),
    tier: TIER_NAMES[reg.tier[slot]! as 0 | 1 | 2],
    importance: roundStored(reg.importance[slot]!),
    relevance: roundStored(reg.relevance[slot]!),
    createdAt: reg.createdAt[slot]!,
    lastAccessedAt: reg.lastAccessedAt[slot]!,
    accessCount: reg.accessCount[slot]!,
    expiresAt: expiresAt === Number.POSITIVE_INFINITY ? null : expiresAt,
    ttlMs: Number.isNaN(reg.ttlMs[slot]!) ? null : reg.ttlMs[slot]!,
    evictable: (reg.flags[slot]! & EVICTABLE) !== 0,
    hash: formatHash(reg.hashHi[slot]!, reg.hashLo[slot]!),
  }
  const taskId = reg.taskIds.get(slot)
  if (taskId !== undefined) meta.taskId = taskId
  const tags = reg.tags.get(slot)
  if (tags !== undefined && tags.length > 0) meta.tags = tags
  return meta
}

/** The state the next incremental backup diffs against: written once the last byte is out. */
async function saveState(ctx: EngineContext, plan: BackupPlan): Promise<void> {
  // In slices, outside the lane (the plan is this backup's own): encoded in one go, the state of
  // 100k entries held the engine's thread for 33–70 ms (measured).
  const slices = new TimeSlices({ background: true })
  const namespaces: string[] = []
  const keys: string[] = []
  // Straight into the typed array: a number[] of 200k fingerprint words boxed most of them (measured).
  const fp = new Uint32Array(2 * plan.present.reduce((n, p) => n + p, 0))
  for (let i = 0; i < plan.keys.length; i++) {
    if (!plan.present[i]) continue
    fp[2 * keys.length] = plan.fp[2 * i]!
    fp[2 * keys.length + 1] = plan.fp[2 * i + 1]!
    namespaces.push(plan.namespaces[i]!)
    keys.push(plan.keys[i]!)
  }
  try {
    const stored = await toStoredState({ id: plan.id, seqTo: plan.seqTo, fp }, namespaces, keys, slices)
    const put = preparePut(
      ctx,
      STATE_KEY,
      stored,
      { namespace: BACKUP_NAMESPACE, layer: EMBEDDING_LAYER, type: 'backup-state', tier: 'warm', evictable: false },
      undefined,
      undefined,
      true,
    )
    put.alone = true
    await enqueuePuts(ctx, [put])
  } catch (error) {
    // The backup itself is whole; only the next incremental cannot name it as its parent.
    reportBackgroundError(ctx, 'backup-state-failed', error)
  }
}

import { TiermemError } from '../core/api/errors.ts'
import { inlineCompressor, workerCompressor } from './block-compressor.ts'
import { BlockBuffers } from './block-buffers.ts'
import type { Deflater } from '../core/store/deflater.ts'
import type { Inflater } from '../core/store/inflater.ts'
import {
  blockPayload,
  KIND_DELETE,
  KIND_PUT,
  layoutBlock,
  readBlockHeader,
  sealBlock,
  sealedBytes,
  verifyBlock,
  type BlockLayout,
  type Compressed,
  type DeflateLevel,
} from './segment-format.ts'
import { compactSegments } from './opfs-compaction.ts'
import { SEGMENT_NAME, SegmentIndex, segmentName, SPACE_PREFIX, type Location, type Segment, type SyncHandle } from './opfs-index.ts'
import { toStorageError } from './storage-errors.ts'
import type { KeyedStoreOp, ScanOptions, Store, StoreStats } from '../core/store/store.ts'
import { validateBatch } from '../core/store/validate-batch.ts'
import { TimeSlices, yieldToReads } from '../core/engine/time-slices.ts'

export type { SyncHandle } from './opfs-index.ts'

/**
 * The most bytes handed to a segment file in one write. A sync access handle's write costs
 * about 1.3 ms whatever its size up to tens of KiB (measured in Chromium 156 on 2 cores: 7.2 MB
 * as 18 KB writes took 680 ms, as 180 KB writes 200 ms, as 1.8 MB writes 180 ms but 45 ms a
 * call), so consecutive blocks are joined: a few ms a write, one slice of the engine's thread.
 */
const WRITE_BYTES = 192 * 1024

/** A block laid out and compressed, sealed only as it is written (into the run's buffer). */
interface CompressedBlock {
  layout: BlockLayout
  payload: Compressed
  /** Its bytes once sealed. */
  size: number
}

/** A segment's file is reserved at its full size only where the quota has this many segments' room left. */
const RESERVE_HEADROOM = 16

export interface OpfsStoreOptions {
  /** Directory under the origin's OPFS root that holds this store's segment files. */
  directory: string
  /** Deflate level for blocks: 1 fastest … 9 smallest. Default 6. */
  level?: DeflateLevel
  /** Raw bytes gathered into one compressed block. Default 64 KiB (measured: ~67 % saved on chat text vs ~52 % per record). */
  blockBytes?: number
  /** A segment file is sealed past this size. Default 8 MiB. */
  segmentBytes?: number
  /** A sealed segment is compacted once this share of its bytes is dead. Default 0.5. */
  compactDeadRatio?: number
  /** 'flush' (default): a batch resolves after the OS has the bytes. 'none': faster, a crash may drop the last batches. */
  durability?: 'flush' | 'none'
  /** Where blocks are deflated: 'worker' (default where workers can start workers) keeps the engine's thread free; 'inline' on this thread. */
  compression?: 'worker' | 'inline'
  /**
   * Compression workers (compression 'worker'). Default 2 where the device reports 2 or more
   * cores, else 1. Measured on 2 cores: a 10k-entry warm → cold move went from 0.80–0.98× to
   * 0.88–1.11× raw fflate + OPFS on one thread, the second compressor taking the core time that
   * IndexedDB's reads and deletes leave idle.
   */
  compressionThreads?: number
}

/**
 * The cold store: append-only segment files of checksummed, block-compressed records in OPFS,
 * written and read through sync access handles (dedicated workers only). An in-memory index
 * (key → block) is rebuilt at open from block directories, without inflating anything. Deletes
 * are tombstones; segments whose bytes are mostly dead are compacted by copying their live
 * records forward and then removing the file, so a crash at any point leaves every record
 * readable from its newest copy. A torn tail (a crash mid-append) is truncated at open.
 * Batches are not atomic across blocks (`atomicBatch: false`): the engine needs atomicity only
 * of the warm store.
 */
/** The OPFS store, and its compression workers lent to the engine (a backup's record files are deflated there, a restore's inflated). */
export type OpfsStore = Store & { deflate: Deflater; inflate: Inflater }

export async function openOpfsStore(options: OpfsStoreOptions): Promise<OpfsStore> {
  const level = options.level ?? 6
  const blockBytes = options.blockBytes ?? 64 * 1024
  const segmentBytes = options.segmentBytes ?? 8 * 1024 * 1024
  const compactDeadRatio = options.compactDeadRatio ?? 0.5
  const flush = (options.durability ?? 'flush') === 'flush'
  const storage = (
    globalThis as {
      navigator?: { storage?: { getDirectory?: () => Promise<FileSystemDirectoryHandle>; estimate?: () => Promise<{ quota?: number; usage?: number }> } }
    }
  ).navigator?.storage
  if (!storage?.getDirectory) throw new TiermemError('INVALID_OPTION', 'OPFS is not available here (navigator.storage.getDirectory is missing)')
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1
  const threads = options.compressionThreads ?? (cores >= 2 ? 2 : 1)
  if (!Number.isInteger(threads) || threads < 1 || threads > 16)
    throw new TiermemError('INVALID_OPTION', `compressionThreads must be an integer from 1 to 16; got ${String(options.compressionThreads)}`)
  const compressor =
    (options.compression ?? (typeof Worker === 'undefined' ? 'inline' : 'worker')) === 'worker' ? workerCompressor(threads) : inlineCompressor()

  // Payloads up to a quarter over blockBytes (a block ends with the value that fills it) are laid
  // out in reused buffers; 64 of them are about what two moves' chunks have in flight.
  const buffers = new BlockBuffers(Math.ceil(blockBytes * 1.25), 64, WRITE_BYTES)
  let directory: FileSystemDirectoryHandle
  const state = new SegmentIndex()
  const { segments, index } = state
  let closed = false

  const openSegment = async (seq: number, create: boolean): Promise<Segment> => {
    const name = segmentName(seq)
    const file = await directory.getFileHandle(name, { create })
    const handle = await (file as unknown as { createSyncAccessHandle(): Promise<SyncHandle> }).createSyncAccessHandle()
    const segment: Segment = { seq, name, handle, size: handle.getSize(), rawBytes: 0, liveBytes: 0, tombstones: new Set() }
    if (create) await reserve(segment)
    return segment
  }

  /**
   * Grows a segment's file to its full size up front, so appends write inside it. Why: a write
   * that grows the file asks the browser process for quota on the way, and while IndexedDB
   * keeps that process busy (a warm → cold move reads and deletes there) such writes held the
   * engine's thread for 57–160 ms, against ≤ 23 ms once reserved (measured). Only where the
   * origin's quota has ample room: a reservation counts against the quota, and on a tight one
   * it would refuse the warm tier's writes sooner; there the file grows as it is written. The
   * zeros past the last block are cut off when the segment is sealed, at close and at open.
   */
  const reserve = async (segment: Segment) => {
    if (segment.handle.getSize() >= segmentBytes) return
    const estimate = await storage.estimate?.().catch(() => undefined)
    if (!estimate?.quota || estimate.quota - (estimate.usage ?? 0) < RESERVE_HEADROOM * segmentBytes) return
    try {
      segment.handle.truncate(segmentBytes)
    } catch (error) {
      // Refused for quota after all (another tab wrote meanwhile): grow as written instead.
      if ((error as { name?: string } | null)?.name !== 'QuotaExceededError') throw error
    }
  }

  /** Cuts a segment's file back to its blocks (the end of a reservation). */
  const seal = (segment: Segment) => {
    if (segment.handle.getSize() > segment.size) segment.handle.truncate(segment.size)
    segment.handle.flush()
  }

  try {
    directory = await (await storage.getDirectory()).getDirectoryHandle(options.directory, { create: true })
    const found: number[] = []
    for await (const name of (directory as unknown as { keys(): AsyncIterable<string> }).keys()) {
      const match = SEGMENT_NAME.exec(name)
      if (match) found.push(Number(match[1]))
    }
    found.sort((a, b) => a - b)
    for (const seq of found) segments.push(await openSegment(seq, false))
    segments.forEach((segment) => state.replay(segment))
    if (segments.length === 0) segments.push(await openSegment(1, true))
    else await reserve(segments[segments.length - 1]!)
  } catch (error) {
    for (const segment of segments) segment.handle.close()
    compressor.close()
    throw toStorageError(error, `opening OPFS store '${options.directory}'`, 'CLOSED')
  }

  const active = () => state.active()

  /**
   * Appends consecutive blocks with one write. Blocks are then indexed where they landed; a
   * write the file took only part of fails the batch, and the next append writes over the
   * part (nothing indexes it, and at open a torn tail is cut off).
   */
  const appendRun = async (run: readonly CompressedBlock[], runBytes: number) => {
    let segment = active()
    if (segment.size > 0 && segment.size + runBytes > segmentBytes) {
      seal(segment)
      segment = await openSegment(segment.seq + 1, true)
      segments.push(segment)
    }
    const at = segment.size
    // Sealed straight into one buffer, reused by the next write (the handle copies on write).
    const bytes = buffers.joined(runBytes)
    let sealedAt = 0
    for (const block of run) {
      sealBlock(block.layout, block.payload, bytes.subarray(sealedAt, sealedAt + block.size))
      sealedAt += block.size
      // Sealing copied the payload: the raw it was laid out in can take another block.
      if (block.payload.raw) buffers.give(block.payload.raw)
    }
    const written = segment.handle.write(bytes, { at })
    if (written !== bytes.byteLength) {
      throw new TiermemError(
        'QUOTA_EXCEEDED',
        `OPFS took ${written} of ${bytes.byteLength} bytes appended to ${segment.name}; free space and try again (nothing already stored was lost)`,
      )
    }
    segment.size += bytes.byteLength
    let offset = at
    for (const { layout, size } of run) {
      state.storedTotal += size
      state.rawTotal += layout.rawBytes
      for (const r of layout.records) state.applyRecord(segment, offset, size, layout.rawBytes, r.kind, r.key, r.offset, r.length)
      offset += size
    }
  }

  /**
   * Lays ops out as blocks of about `blockBytes` raw bytes each and starts compressing them.
   * Pure (no store state), so a batch compresses while the batch before it is still being
   * written: the compressor never waits for the file. In time slices: a batch of thousands of
   * records took 20–70 ms to lay out in one go, and a read arriving meanwhile waited for all of
   * it; each slice's blocks go to the compressor at once, so compression starts with the first.
   */
  const prepareBlocks = async (ops: readonly KeyedStoreOp[], at: DeflateLevel = level, background = false): Promise<CompressedBlock[]> => {
    const take = (bytes: number) => buffers.take(bytes)
    // Outside the store's queue: a background batch may give way to reads here without holding up the store's other calls.
    const slices = new TimeSlices({ background })
    const compressing: Array<Promise<CompressedBlock[]>> = []
    let layouts: BlockLayout[] = []
    const send = () => {
      const sent = layouts
      layouts = []
      // While reads are coming, background blocks go to one compressor thread: on 2 cores the
      // reads keep their pace beside one busy thread, not beside two (the busy bench's floor).
      const sealed = compressor
        .compress(
          sent.map((layout) => layout.raw),
          at,
          { handBack: true },
          slices.readsComing ? 1 : undefined,
        )
        .then((payloads) => sent.map((layout, i) => ({ layout, payload: payloads[i]!, size: sealedBytes(layout, payloads[i]!) })))
      sealed.catch(() => undefined) // awaited below, after the layout; a failure rejects there
      compressing.push(sealed)
    }
    let pending: Array<{ kind: 1 | 2; key: string; value?: Uint8Array }> = []
    let pendingBytes = 0
    for (const op of ops) {
      const key = SPACE_PREFIX[op.space] + op.key
      if (op.type === 'put') {
        pending.push({ kind: KIND_PUT, key, value: op.value })
        pendingBytes += op.value.byteLength
      } else {
        pending.push({ kind: KIND_DELETE, key })
      }
      if (pendingBytes >= blockBytes) {
        layouts.push(layoutBlock(pending, take))
        pending = []
        pendingBytes = 0
        if (slices.due) {
          send()
          await slices.pause()
        }
      }
    }
    if (pending.length > 0) layouts.push(layoutBlock(pending, take))
    if (layouts.length > 0) send()
    return (await Promise.all(compressing)).flat()
  }

  /**
   * Appends blocks in order, joined into writes of up to WRITE_BYTES, in time slices. A block
   * never spans two segments: a run ends where the next block would pass the segment's size.
   */
  const writeBlocks = async (blocks: readonly CompressedBlock[]) => {
    // The blocks arrive in the compressor's answer, on that message's turn: reads queued
    // meanwhile go first.
    await yieldToReads()
    const slices = new TimeSlices()
    let run: CompressedBlock[] = []
    let runBytes = 0
    for (const block of blocks) {
      const { size } = block
      if (run.length > 0 && (runBytes + size > WRITE_BYTES || active().size + runBytes + size > segmentBytes)) {
        await appendRun(run, runBytes)
        run = []
        runBytes = 0
        await slices.pace()
      }
      run.push(block)
      runBytes += size
    }
    if (run.length > 0) await appendRun(run, runBytes)
  }

  // A small cache of inflated blocks: reads of neighbours (getMany of a moved batch) inflate once.
  const blockCache = new Map<string, Uint8Array>()
  const readPayload = (location: Location): Uint8Array => {
    const cacheKey = `${location.segment.seq}:${location.blockOffset}`
    const cached = blockCache.get(cacheKey)
    if (cached) return cached
    const block = new Uint8Array(location.blockBytes)
    location.segment.handle.read(block, { at: location.blockOffset })
    const header = readBlockHeader(block)
    if (!header || !verifyBlock(block, header)) {
      throw new TiermemError(
        'CORRUPT',
        `a cold block in ${location.segment.name} at ${location.blockOffset} failed its checksum; the records in it are damaged (other records are unaffected)`,
      )
    }
    const payload = blockPayload(block, header)
    blockCache.set(cacheKey, payload)
    if (blockCache.size > 16) blockCache.delete(blockCache.keys().next().value!)
    return payload
  }

  const compact = () =>
    compactSegments(state, {
      compactDeadRatio,
      readPayload,
      write: async (ops) => writeBlocks(await prepareBlocks(ops)),
      flushActive: () => {
        if (flush) active().handle.flush()
      },
      dropCached: (segment) => {
        for (const cacheKey of [...blockCache.keys()]) if (cacheKey.startsWith(`${segment.seq}:`)) blockCache.delete(cacheKey)
      },
      removeFile: (name) => directory.removeEntry(name),
    })

  const checkLevel = (at: number): DeflateLevel => {
    if (!Number.isInteger(at) || at < 0 || at > 9) throw new TiermemError('INVALID_OPTION', `a deflate level is an integer 0..9; got ${at}`)
    return at as DeflateLevel
  }

  // One operation at a time: sync handles are not re-entrant, and compaction moves records.
  let queue: Promise<unknown> = Promise.resolve()
  const exclusive = <T>(what: string, task: () => Promise<T> | T): Promise<T> => {
    const run = queue.then(async () => {
      if (closed) throw new TiermemError('CLOSED', `OPFS store '${options.directory}' is closed; open the memory again`)
      try {
        return await task()
      } catch (error) {
        throw toStorageError(error, what)
      }
    })
    queue = run.catch(() => undefined)
    return run
  }

  return {
    deflate: async (payloads, at) => {
      if (closed) throw new TiermemError('CLOSED', `OPFS store '${options.directory}' is closed; open the memory again`)
      const results = await compressor.compress(payloads, checkLevel(at), { sums: true, handBack: true })
      return results.map(({ payload, deflated, sums, raw }) => ({ payload, deflated, sums: sums!, ...(raw ? { raw } : {}) }))
    },
    inflate: async (payloads) => {
      if (closed) throw new TiermemError('CLOSED', `OPFS store '${options.directory}' is closed; open the memory again`)
      return compressor.inflate(payloads)
    },
    backend: 'opfs',
    capabilities: { atomicBatch: false, maxBatchSize: 5_000, persistent: true },

    storedSizes(space, keys) {
      return exclusive('reading from OPFS', () =>
        keys.map((key) => {
          const location = index[space].get(key)
          return location && Math.round((location.length / Math.max(1, location.blockRaw)) * location.blockBytes)
        }),
      )
    },

    getMany(space, keys) {
      return exclusive('reading from OPFS', () =>
        keys.map((key) => {
          const location = index[space].get(key)
          if (!location) return undefined
          return readPayload(location).slice(location.offset, location.offset + location.length)
        }),
      )
    },

    batch(ops, batchOptions) {
      // Compression starts now, outside the queue; the queue keeps the order of writes.
      let prepared: Promise<CompressedBlock[]> | undefined
      try {
        validateBatch(ops)
        // Validated: no 'deleteRange' (this store does not declare rangeDeletes).
        const at = batchOptions?.level === undefined ? level : checkLevel(batchOptions.level)
        if (ops.length > 0 && !closed) prepared = prepareBlocks(ops as readonly KeyedStoreOp[], at, batchOptions?.background === true)
        prepared?.catch(() => undefined) // awaited in the queue below
      } catch (error) {
        return Promise.reject(toStorageError(error, 'writing to OPFS'))
      }
      return exclusive('writing to OPFS', async () => {
        if (!prepared) return
        await writeBlocks(await prepared)
        if (flush) active().handle.flush()
        await compact()
      })
    },

    scan(space, scan: ScanOptions = {}) {
      return exclusive('scanning OPFS', () =>
        state.pageOfKeys(space, scan).map((key): [string, Uint8Array] => {
          const location = index[space].get(key)!
          return [key, readPayload(location).slice(location.offset, location.offset + location.length)]
        }),
      )
    },

    /** From the in-memory index: no block is read or inflated. */
    keys(space, scan: ScanOptions = {}) {
      return exclusive('listing OPFS keys', () => state.pageOfKeys(space, scan))
    },

    stats() {
      return exclusive('measuring OPFS', (): StoreStats => {
        const live = state.liveBytes()
        const written = state.writtenBytes()
        return {
          storedBytes: state.storedTotal,
          logicalBytes: live,
          compressionRatio: state.rawTotal === 0 ? 1 : state.storedTotal / Math.max(state.rawTotal, 1),
          deadRatio: written === 0 ? 0 : 1 - live / written,
        }
      })
    },

    async close() {
      if (closed) return
      await queue
      closed = true
      compressor.close()
      buffers.clear()
      for (const segment of segments) {
        seal(segment)
        segment.handle.close()
      }
    },
  }
}

/** Removes a store's files (tests, "clear all data"). The store must be closed. */
export async function deleteOpfsStore(directory: string): Promise<void> {
  const root = await navigator.storage.getDirectory()
  await root.removeEntry(directory, { recursive: true }).catch((error: { name?: string }) => {
    if (error?.name !== 'NotFoundError') throw error
  })
}

import { TiermemError } from '../core/api/errors.ts'
import type { ScanOptions, StoreSpace } from '../core/store/store.ts'
import {
  BLOCK_HEADER_BYTES,
  KIND_PUT,
  newerBlockFormat,
  readBlockHeader,
  readDirectory,
  verifyBlock,
  type BlockHeader,
  type BlockRecord,
} from './segment-format.ts'

/** The synchronous OPFS file API, available only in dedicated workers. */
export interface SyncHandle {
  read(buffer: Uint8Array, options: { at: number }): number
  write(buffer: Uint8Array, options: { at: number }): number
  truncate(size: number): void
  getSize(): number
  flush(): void
  close(): void
}

export interface Segment {
  seq: number
  name: string
  handle: SyncHandle
  size: number
  /** Raw bytes of records (and tombstones) written to it, and of those still live. */
  rawBytes: number
  liveBytes: number
  /** Record keys (space-prefixed) deleted by tombstones in this segment. */
  tombstones: Set<string>
}

/** Where a record's bytes are: its block, and the record's place in the block's payload. */
export interface Location {
  segment: Segment
  blockOffset: number
  blockBytes: number
  /** The block's uncompressed payload: a record's share of blockBytes is length / blockRaw. */
  blockRaw: number
  offset: number
  length: number
}

export const SEGMENT_NAME = /^seg-(\d{8})\.tms$/
export const segmentName = (seq: number) => `seg-${String(seq).padStart(8, '0')}.tms`
/** Space and key share one record key: one byte of space, then the key. */
export const SPACE_PREFIX: Record<StoreSpace, string> = { meta: 'm', values: 'v' }
const TOMBSTONE_OVERHEAD = 11

/** The space and key a record key names. */
export function splitRecordKey(recordKey: string): { space: StoreSpace; key: string } {
  return { space: recordKey[0] === 'm' ? 'meta' : 'values', key: recordKey.slice(1) }
}

/**
 * The cold store's view of its files, in memory: the segments in order, every live key's
 * location, and the byte totals stats and compaction read. Built at open from the block
 * directories (no payload is inflated), then kept by applying each block as it is appended.
 */
export class SegmentIndex {
  readonly segments: Segment[] = []
  readonly index: Record<StoreSpace, Map<string, Location>> = { meta: new Map(), values: new Map() }
  /** Bytes of every block on storage, and of the records they hold before compression. */
  storedTotal = 0
  rawTotal = 0
  /** Each space's keys in order, sorted once per change (scans page through it). */
  private readonly sorted: Partial<Record<StoreSpace, string[]>> = {}

  /** The segment appends go to. */
  active(): Segment {
    return this.segments[this.segments.length - 1]!
  }

  /** A record of a block now in `segment`: a put's new location, or a tombstone. */
  applyRecord(
    segment: Segment,
    blockOffset: number,
    blockTotal: number,
    blockRaw: number,
    kind: number,
    recordKey: string,
    offset: number,
    length: number,
  ): void {
    const { space, key } = splitRecordKey(recordKey)
    const old = this.index[space].get(key)
    if (old) old.segment.liveBytes -= old.length
    this.sorted[space] = undefined
    if (kind === KIND_PUT) {
      this.index[space].set(key, { segment, blockOffset, blockBytes: blockTotal, blockRaw, offset, length })
      segment.rawBytes += length
      segment.liveBytes += length
    } else {
      this.index[space].delete(key)
      segment.rawBytes += TOMBSTONE_OVERHEAD + recordKey.length
      segment.tombstones.add(recordKey)
    }
  }

  /** Reads a segment's blocks into the index; truncates a torn or damaged tail. */
  replay(segment: Segment): void {
    // Each header is read once: the look-ahead for one block is the next block's header.
    let header = new Uint8Array(BLOCK_HEADER_BYTES)
    let next = new Uint8Array(BLOCK_HEADER_BYTES)
    let ahead = false
    let at = 0
    const size = segment.handle.getSize()
    while (at + BLOCK_HEADER_BYTES <= size) {
      if (!ahead) segment.handle.read(header, { at })
      ahead = false
      const parsed = readBlockHeader(header)
      const newer = parsed ? undefined : newerBlockFormat(header)
      if (newer !== undefined) {
        throw new TiermemError(
          'CORRUPT',
          `cold segment ${segment.name} holds blocks of format ${newer}, written by a newer tiermem; this version leaves them untouched and cannot open this memory`,
        )
      }
      if (!parsed || at + parsed.totalBytes > size) break
      // The last block of a file is the one a crash could have torn: check all of it. It is
      // last when no block header follows it (the file ends, or a reservation's zeros do).
      const end = at + parsed.totalBytes
      let last = true
      if (end + BLOCK_HEADER_BYTES <= size) {
        segment.handle.read(next, { at: end })
        last = readBlockHeader(next) === undefined
        ;[header, next] = [next, header]
        ahead = true
      }
      if (last) {
        const block = new Uint8Array(parsed.totalBytes)
        segment.handle.read(block, { at })
        if (!verifyBlock(block, parsed)) break
      }
      const directoryBytes = new Uint8Array(parsed.directoryBytes)
      segment.handle.read(directoryBytes, { at: at + BLOCK_HEADER_BYTES })
      for (const r of this.recordsOf(parsed, directoryBytes))
        this.applyRecord(segment, at, parsed.totalBytes, parsed.rawBytes, r.kind, r.key, r.offset, r.length)
      this.storedTotal += parsed.totalBytes
      this.rawTotal += parsed.rawBytes
      at += parsed.totalBytes
    }
    if (at < size) {
      segment.handle.truncate(at)
      segment.handle.flush()
    }
    segment.size = at
  }

  /**
   * A block's records from its directory. A damaged directory (one that does not parse) names
   * none: its records are lost, and the blocks after it are not, so opening goes on. What the
   * block held is caught above the store: an entry whose newest record was there reads an older
   * record or none, and the engine reports it damaged (each value is checked against the hash
   * its metadata keeps); a key it deleted may show its older record here, but the registry
   * names no such entry, and cold records nobody names are swept at open.
   */
  private recordsOf(header: BlockHeader, directory: Uint8Array): BlockRecord[] {
    try {
      return readDirectory(header, directory)
    } catch {
      return []
    }
  }

  /** A page of keys in order, from the index (sorted once per change). */
  pageOfKeys(space: StoreSpace, scan: ScanOptions): string[] {
    const keys = (this.sorted[space] ??= [...this.index[space].keys()].sort())
    let start = 0
    if (scan.after !== undefined) {
      let high = keys.length
      while (start < high) {
        const mid = (start + high) >>> 1
        if (keys[mid]! <= scan.after) start = mid + 1
        else high = mid
      }
    }
    let end = Math.min(keys.length, start + (scan.limit ?? 1000))
    if (scan.before !== undefined) while (end > start && keys[end - 1]! >= scan.before) end--
    return keys.slice(start, end)
  }

  liveBytes(): number {
    return this.segments.reduce((sum, s) => sum + s.liveBytes, 0)
  }

  writtenBytes(): number {
    return this.segments.reduce((sum, s) => sum + s.rawBytes, 0)
  }

  /** A segment left the store (compacted): its bytes leave the totals. */
  dropSegment(segment: Segment): void {
    this.segments.splice(this.segments.indexOf(segment), 1)
    this.storedTotal -= segment.size
    this.rawTotal -= segment.rawBytes
  }
}

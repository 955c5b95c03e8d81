import { deflateSync, inflateSync } from 'fflate'
import { xxHash32 } from '../core/persistence/xxhash32.ts'
import { decodeDirectory, encodeDirectory, KIND_DELETE, type BlockRecord } from './block-directory.ts'
import type { FileSums } from '../core/store/deflater.ts'

export { KIND_DELETE, KIND_PUT, type BlockRecord } from './block-directory.ts'

/**
 * The cold segment format: a segment file is a sequence of blocks, each self-describing and
 * checksummed. Written by hand because no library does "append-only, checksummed, compressed
 * blocks with a key directory readable without inflating": zip needs a central directory
 * rewritten at the end, and tar has no compression per block.
 *
 *   0  u32 magic 'TMB2' (format 2; 'TMB1', format 1, is still read)
 *   4  u32 xxHash32 of bytes [8, end)          (torn or damaged blocks fail this)
 *   8  u8  flags (bit 0: payload deflated)     + 3 reserved bytes
 *  12  u32 record count
 *  16  u32 directory bytes
 *  20  u32 payload bytes as stored
 *  24  u32 payload bytes raw
 *  28  directory (block-directory.ts: front-coded keys and varint lengths in format 2; fixed
 *      fields in format 1)
 *  ..  payload
 *
 * The directory is never compressed, so opening a store reads headers and directories only.
 * Reading one record inflates its block (≤ BLOCK_RAW_BYTES), never a whole segment, with the
 * block's raw length known up front: fflate inflates ~7× faster into a preallocated buffer.
 */
export const BLOCK_HEADER_BYTES = 28
const MAGIC = 0x32424d54 // 'TMB2' little-endian: what this version writes
const MAGIC_V1 = 0x31424d54 // 'TMB1': read, never written
const SEED = 0x7431e7
const FLAG_DEFLATED = 1

export interface BlockHeader {
  checksum: number
  deflated: boolean
  /** The directory's format (block-directory.ts). */
  format: 1 | 2
  count: number
  directoryBytes: number
  storedBytes: number
  rawBytes: number
  totalBytes: number
}

export interface EncodedBlock {
  bytes: Uint8Array
  records: BlockRecord[]
  rawBytes: number
}

/** A block before compression: its records laid out, the raw payload joined, the raw directory written. */
export interface BlockLayout {
  /** The joined payload; handed to the compressor (and detached) before the block is sealed. */
  raw: Uint8Array
  rawBytes: number
  records: BlockRecord[]
  directory: Uint8Array
}

/** A payload as the compressor gives it back: deflated, or the raw bytes where that saved too little. */
export interface Compressed {
  payload: Uint8Array
  deflated: boolean
  /** The raw payload, handed back when the caller asked for it (from a worker, transferred back), for reuse once the block is sealed. */
  raw?: Uint8Array
  /** The raw payload's sums, when the caller asked for them (a backup's record files). */
  sums?: FileSums
}

/** `take(bytes)` gives the view the payload is joined in (every byte of it is written): by default a new array. */
export function layoutBlock(
  entries: ReadonlyArray<{ kind: 1 | 2; key: string; value?: Uint8Array }>,
  take: (bytes: number) => Uint8Array = (bytes) => new Uint8Array(bytes),
): BlockLayout {
  // Only puts have bytes in the payload: the directory's lengths must add up to it (a delete's value, were one given, is no record's).
  let rawBytes = 0
  for (const e of entries) if (e.kind !== KIND_DELETE) rawBytes += e.value?.byteLength ?? 0
  const raw = take(rawBytes)
  if (raw.byteLength !== rawBytes) throw new RangeError(`a block's payload needs ${rawBytes} bytes; got a view of ${raw.byteLength}`)
  const records: BlockRecord[] = []
  let offset = 0
  for (const e of entries) {
    if (e.kind === KIND_DELETE) {
      records.push({ kind: e.kind, key: e.key, offset: 0, length: 0 })
      continue
    }
    const length = e.value?.byteLength ?? 0
    if (e.value) raw.set(e.value, offset)
    records.push({ kind: e.kind, key: e.key, offset, length })
    offset += length
  }
  return { raw, rawBytes, records, directory: encodeDirectory(records) }
}

/**
 * fflate's `mem` for block deflate: a hash table of 2^(12 + mem) entries. fflate's default
 * sizes it from the input (2^18 entries, 512 KiB, for a 64 KiB block) and allocates it afresh
 * for every call; 2^14 entries (32 KiB) give the same bytes on chat text (measured: 0.26281 vs
 * 0.26280 of the raw size). Alone it runs as fast in Node and 4–11 % faster in Chromium (the
 * bench's reference row); most of the gain shows during a warm → cold move, where IndexedDB
 * works beside the compressor on a 2-core machine: allocating and sweeping 0.5 MiB a block
 * competed with it (the compressor used 0–25 % more CPU than the raw peer on the same blocks;
 * with 32 KiB tables, about the same).
 */
export const COLD_DEFLATE_MEM = 2

/**
 * The payload as stored: deflated when that saves at least 5 % (it does for text; already
 * compressed binaries are stored as they are). Runs wherever the compression runs.
 */
export function compressPayload(raw: Uint8Array, level: DeflateLevel): Compressed {
  const deflated = raw.byteLength > 64 ? deflateSync(raw, { level, mem: COLD_DEFLATE_MEM }) : undefined
  return deflated !== undefined && deflated.byteLength <= raw.byteLength * 0.95 ? { payload: deflated, deflated: true } : { payload: raw, deflated: false }
}

/** How many bytes sealBlock writes for this layout and payload. */
export function sealedBytes(layout: BlockLayout, payload: Compressed): number {
  return BLOCK_HEADER_BYTES + layout.directory.byteLength + payload.payload.byteLength
}

/**
 * Header, directory, payload and checksum: the bytes to append. `payload` is what the compressor
 * gave back for the layout's raw payload. Written into `into` (exactly sealedBytes long) where
 * given, so a run of blocks is sealed straight into the buffer that is written.
 */
export function sealBlock(layout: BlockLayout, payload: Compressed, into?: Uint8Array): EncodedBlock {
  const { records, rawBytes, directory } = layout
  const size = sealedBytes(layout, payload)
  if (into && into.byteLength !== size) throw new RangeError(`a sealed block is ${size} bytes; got a view of ${into.byteLength}`)
  const bytes = into ?? new Uint8Array(size)
  const view = new DataView(bytes.buffer, bytes.byteOffset, size)
  view.setUint32(0, MAGIC, true)
  // The flags and reserved bytes: `into` may hold an earlier block's bytes.
  bytes.fill(0, 9, 12)
  bytes[8] = payload.deflated ? FLAG_DEFLATED : 0
  view.setUint32(12, records.length, true)
  view.setUint32(16, directory.byteLength, true)
  view.setUint32(20, payload.payload.byteLength, true)
  view.setUint32(24, rawBytes, true)
  bytes.set(directory, BLOCK_HEADER_BYTES)
  bytes.set(payload.payload, BLOCK_HEADER_BYTES + directory.byteLength)
  view.setUint32(4, xxHash32(bytes.subarray(8), SEED) >>> 0, true)
  return { bytes, records, rawBytes }
}

/**
 * The block format version a future tiermem wrote, when the bytes start 'TMB' + a digit past
 * '1'; undefined for this format, a torn tail or foreign bytes. Such a block is not damage: the
 * store refuses to open rather than truncate what it cannot read.
 */
export function newerBlockFormat(bytes: Uint8Array): number | undefined {
  if (bytes.byteLength < 4 || bytes[0] !== 0x54 || bytes[1] !== 0x4d || bytes[2] !== 0x42) return undefined
  const version = bytes[3]! - 0x30
  return version > 2 && version <= 9 ? version : undefined
}

/** Parses a block header, or undefined when the bytes are not a block (a torn or foreign tail). */
export function readBlockHeader(bytes: Uint8Array): BlockHeader | undefined {
  if (bytes.byteLength < BLOCK_HEADER_BYTES) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, BLOCK_HEADER_BYTES)
  const magic = view.getUint32(0, true)
  if (magic !== MAGIC && magic !== MAGIC_V1) return undefined
  const directoryBytes = view.getUint32(16, true)
  const storedBytes = view.getUint32(20, true)
  return {
    checksum: view.getUint32(4, true),
    deflated: (bytes[8]! & FLAG_DEFLATED) !== 0,
    format: magic === MAGIC ? 2 : 1,
    count: view.getUint32(12, true),
    directoryBytes,
    storedBytes,
    rawBytes: view.getUint32(24, true),
    totalBytes: BLOCK_HEADER_BYTES + directoryBytes + storedBytes,
  }
}

/** The records of a block's directory (`header.directoryBytes` bytes from just after the header); CORRUPT if it does not parse. */
export function readDirectory(header: BlockHeader, directory: Uint8Array): BlockRecord[] {
  return decodeDirectory(header.format, directory, header.count, header.rawBytes)
}

export function verifyBlock(block: Uint8Array, header: BlockHeader): boolean {
  return xxHash32(block.subarray(8, header.totalBytes), SEED) >>> 0 === header.checksum
}

/** The raw payload of a whole block (already verified). */
export function blockPayload(block: Uint8Array, header: BlockHeader): Uint8Array {
  const stored = block.subarray(BLOCK_HEADER_BYTES + header.directoryBytes, header.totalBytes)
  return header.deflated ? inflateSync(stored, { out: new Uint8Array(header.rawBytes) }) : stored
}

/** fflate's levels: 1 fastest … 9 smallest; 6 is zlib's default balance. */
export type DeflateLevel = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9

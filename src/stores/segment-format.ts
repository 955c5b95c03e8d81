import { deflateSync, inflateSync } from 'fflate'
import { xxHash32 } from 'js-xxhash'
import { TiermemError } from '../core/api/errors.ts'

/**
 * The cold segment format: a segment file is a sequence of blocks, each self-describing and
 * checksummed. Written by hand because no library does "append-only, checksummed, compressed
 * blocks with a key directory readable without inflating": zip needs a central directory
 * rewritten at the end, and tar has no compression per block.
 *
 *   0  u32 magic 'TMB2' (format 2; 'TMB1', format 1, is still read)
 *   4  u32 xxHash32 of bytes [8, end)          (torn or damaged blocks fail this)
 *   8  u8  flags (bit 0: payload deflated; bit 1: directory deflated)  + 3 reserved bytes
 *  12  u32 record count
 *  16  u32 directory bytes as stored
 *  20  u32 payload bytes as stored
 *  24  u32 payload bytes raw
 *  28  directory: per record u8 kind (1 put, 2 delete), u16 key bytes, key (UTF-8),
 *      u32 offset in the raw payload, u32 length. Deflated (format 2, bit 1): u32 its raw
 *      bytes, then the deflated directory.
 *  ..  payload
 *
 * The directory is apart from the payload, so opening a store reads headers and directories
 * only (a deflated directory is ~1 KiB to inflate; the payload is 64). Format 2 deflates it
 * where that saves 5 %: keys of one block share their prefixes, and for short records the keys
 * were a large part of what was stored (a 200-byte chat message deflates to ~60 bytes beside
 * its ~30-byte key and 11 bytes of directory). Format 1 blocks have the same layout with the
 * directory never deflated.
 * Reading one record inflates its block (≤ BLOCK_RAW_BYTES), never a whole segment, with the
 * block's raw length known up front: fflate inflates ~7× faster into a preallocated buffer.
 */
export const BLOCK_HEADER_BYTES = 28
const MAGIC = 0x32424d54 // 'TMB2' little-endian: what this version writes
const MAGIC_V1 = 0x31424d54 // 'TMB1': read, never written
const SEED = 0x7431e7
export const KIND_PUT = 1
export const KIND_DELETE = 2
const FLAG_DEFLATED = 1
const FLAG_DIRECTORY_DEFLATED = 2
/** The u32 raw length before a deflated directory. */
const DIRECTORY_LENGTH_BYTES = 4

export interface BlockRecord {
  kind: typeof KIND_PUT | typeof KIND_DELETE
  key: string
  /** Offset and length in the block's raw payload (0, 0 for deletes). */
  offset: number
  length: number
}

export interface BlockHeader {
  checksum: number
  deflated: boolean
  /** The directory is deflated (format 2 only). */
  directoryDeflated: boolean
  count: number
  directoryBytes: number
  storedBytes: number
  rawBytes: number
  totalBytes: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

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
  /** The raw directory; handed to the compressor with the payload (and detached) before the block is sealed. */
  directory: Uint8Array
  directoryBytes: number
}

/** A payload or directory as the compressor gives it back: deflated, or the raw bytes where that saved too little. */
export interface Compressed {
  payload: Uint8Array
  deflated: boolean
}

export function layoutBlock(entries: ReadonlyArray<{ kind: 1 | 2; key: string; value?: Uint8Array }>): BlockLayout {
  const keys = entries.map((e) => encoder.encode(e.key))
  let rawBytes = 0
  let directoryBytes = 0
  keys.forEach((key, i) => {
    if (key.byteLength > 0xffff) throw new TiermemError('INVALID_KEY', 'cold store keys are at most 65,535 bytes')
    rawBytes += entries[i]!.value?.byteLength ?? 0
    directoryBytes += 1 + 2 + key.byteLength + 8
  })
  const raw = new Uint8Array(rawBytes)
  const directory = new Uint8Array(directoryBytes)
  const view = new DataView(directory.buffer)
  const records: BlockRecord[] = []
  let offset = 0
  let at = 0
  entries.forEach((e, i) => {
    const key = keys[i]!
    const length = e.value?.byteLength ?? 0
    if (e.value) raw.set(e.value, offset)
    records.push({ kind: e.kind, key: e.key, offset, length })
    directory[at] = e.kind
    view.setUint16(at + 1, key.byteLength, true)
    directory.set(key, at + 3)
    at += 3 + key.byteLength
    view.setUint32(at, offset, true)
    view.setUint32(at + 4, length, true)
    at += 8
    offset += length
  })
  return { raw, rawBytes, records, directory, directoryBytes }
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
export function compressPayload(raw: Uint8Array, level: DeflateLevel): { payload: Uint8Array; deflated: boolean } {
  const deflated = raw.byteLength > 64 ? deflateSync(raw, { level, mem: COLD_DEFLATE_MEM }) : undefined
  return deflated !== undefined && deflated.byteLength <= raw.byteLength * 0.95 ? { payload: deflated, deflated: true } : { payload: raw, deflated: false }
}

/**
 * Header, directory, payload and checksum: the bytes to append. `payload` and `directory` are
 * what the compressor gave back for the layout's raw payload and directory.
 */
export function sealBlock(layout: BlockLayout, payload: Compressed, directory: Compressed): EncodedBlock {
  const { records, rawBytes } = layout
  const directoryBytes = directory.deflated ? DIRECTORY_LENGTH_BYTES + directory.payload.byteLength : directory.payload.byteLength
  const bytes = new Uint8Array(BLOCK_HEADER_BYTES + directoryBytes + payload.payload.byteLength)
  const view = new DataView(bytes.buffer)
  view.setUint32(0, MAGIC, true)
  bytes[8] = (payload.deflated ? FLAG_DEFLATED : 0) | (directory.deflated ? FLAG_DIRECTORY_DEFLATED : 0)
  view.setUint32(12, records.length, true)
  view.setUint32(16, directoryBytes, true)
  view.setUint32(20, payload.payload.byteLength, true)
  view.setUint32(24, rawBytes, true)
  let at = BLOCK_HEADER_BYTES
  if (directory.deflated) {
    view.setUint32(at, layout.directoryBytes, true)
    at += DIRECTORY_LENGTH_BYTES
  }
  bytes.set(directory.payload, at)
  bytes.set(payload.payload, at + directory.payload.byteLength)
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
    directoryDeflated: magic === MAGIC && (bytes[8]! & FLAG_DIRECTORY_DEFLATED) !== 0,
    count: view.getUint32(12, true),
    directoryBytes,
    storedBytes,
    rawBytes: view.getUint32(24, true),
    totalBytes: BLOCK_HEADER_BYTES + directoryBytes + storedBytes,
  }
}

/**
 * The records of a block's directory, as stored (`header.directoryBytes` bytes from just after
 * the header). Throws a CORRUPT TiermemError for a directory that does not parse.
 */
export function readDirectory(header: BlockHeader, stored: Uint8Array): BlockRecord[] {
  let directory: Uint8Array
  try {
    directory = header.directoryDeflated ? inflateDirectory(stored) : stored
    return parseDirectory(header, directory)
  } catch (cause) {
    throw new TiermemError('CORRUPT', 'a cold block directory is damaged', { cause })
  }
}

function inflateDirectory(stored: Uint8Array): Uint8Array {
  const rawBytes = new DataView(stored.buffer, stored.byteOffset, stored.byteLength).getUint32(0, true)
  const directory = inflateSync(stored.subarray(DIRECTORY_LENGTH_BYTES), { out: new Uint8Array(rawBytes) })
  if (directory.byteLength !== rawBytes) throw new Error(`inflated ${directory.byteLength} bytes, expected ${rawBytes}`)
  return directory
}

function parseDirectory(header: BlockHeader, directory: Uint8Array): BlockRecord[] {
  const view = new DataView(directory.buffer, directory.byteOffset, directory.byteLength)
  const records: BlockRecord[] = []
  let at = 0
  for (let i = 0; i < header.count; i++) {
    const kind = directory[at] as 1 | 2
    if (kind !== KIND_PUT && kind !== KIND_DELETE) throw new Error(`record ${i} has kind ${kind}`)
    const keyBytes = view.getUint16(at + 1, true)
    const key = decoder.decode(directory.subarray(at + 3, at + 3 + keyBytes))
    at += 3 + keyBytes
    records.push({ kind, key, offset: view.getUint32(at, true), length: view.getUint32(at + 4, true) })
    at += 8
  }
  if (at !== directory.byteLength) throw new Error(`the directory holds ${directory.byteLength} bytes; its ${header.count} records take ${at}`)
  return records
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

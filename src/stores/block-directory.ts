import { TiermemError } from '../core/api/errors.ts'

/**
 * A cold block's key directory: which records the block holds, where each sits in its raw
 * payload. Stored apart from the payload, so opening a store reads directories only.
 *
 * Format 2, written now, per record in order:
 *
 *   varint  shared × 2 + (1 for a delete)   shared: leading UTF-8 bytes of the key the same as
 *                                           the record before's
 *   varint  the key's remaining bytes, then those bytes
 *   varint  the value's length (puts only: a put's offset is the sum of the put lengths before it)
 *
 * Format 1 (read only): per record u8 kind, u16 key bytes, the key, u32 offset, u32 length.
 *
 * Why this shape rather than deflating the format 1 directory: keys of one block share long
 * prefixes (namespace, conversation) and offsets follow from lengths, so front coding and
 * varints take a block's directory from ~28 bytes a record to ~6 on chat records, with no
 * inflate at open. Deflate saved a little more but was a second fflate call per block, whose
 * fixed tables (~200 KiB of ArrayBuffers a call) made ArrayBuffer sweeping the compressors'
 * largest garbage-collection cost during a move (measured: archive throughput 0.62× → 0.52×).
 */

export const KIND_PUT = 1
export const KIND_DELETE = 2

export interface BlockRecord {
  kind: typeof KIND_PUT | typeof KIND_DELETE
  key: string
  /** Offset and length in the block's raw payload (0, 0 for deletes). */
  offset: number
  length: number
}

/** The longest key a directory holds, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 0xffff

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Room the encoder writes keys into: this key and the one before (no ArrayBuffer a key). */
let keyBytes = new Uint8Array(256)
let previousBytes = new Uint8Array(256)

/**
 * The format 2 directory of these records. Their offsets must be the running sum of the put
 * lengths, in order (what layoutBlock gives them): the directory does not store offsets.
 */
export function encodeDirectory(records: readonly BlockRecord[]): Uint8Array {
  let out = new Uint8Array(64 + records.length * 16)
  let at = 0
  const room = (bytes: number) => {
    if (at + bytes <= out.byteLength) return
    const grown = new Uint8Array(Math.max(2 * out.byteLength, at + bytes))
    grown.set(out.subarray(0, at))
    out = grown
  }
  const varint = (value: number) => {
    room(5)
    while (value >= 0x80) {
      out[at++] = (value & 0x7f) | 0x80
      value = Math.floor(value / 0x80)
    }
    out[at++] = value
  }
  let previous = 0
  for (const record of records) {
    if (keyBytes.byteLength < 3 * record.key.length) keyBytes = new Uint8Array(3 * record.key.length)
    const { written } = encoder.encodeInto(record.key, keyBytes)
    if (written > MAX_KEY_BYTES) throw new TiermemError('INVALID_KEY', `cold store keys are at most ${MAX_KEY_BYTES.toLocaleString('en')} bytes`)
    let shared = 0
    const most = Math.min(written, previous)
    while (shared < most && keyBytes[shared] === previousBytes[shared]) shared++
    varint(2 * shared + (record.kind === KIND_DELETE ? 1 : 0))
    varint(written - shared)
    room(written - shared)
    out.set(keyBytes.subarray(shared, written), at)
    at += written - shared
    if (record.kind === KIND_PUT) varint(record.length)
    ;[keyBytes, previousBytes] = [previousBytes, keyBytes]
    previous = written
  }
  return out.subarray(0, at)
}

/**
 * The records of a directory of `count` records in `format`; `rawBytes`, the block's raw
 * payload length, which format 2's lengths must add up to. Throws a CORRUPT TiermemError for a
 * directory that does not parse.
 */
export function decodeDirectory(format: 1 | 2, bytes: Uint8Array, count: number, rawBytes: number): BlockRecord[] {
  try {
    return format === 1 ? decodeFormatOne(bytes, count) : decodeFormatTwo(bytes, count, rawBytes)
  } catch (cause) {
    throw new TiermemError('CORRUPT', 'a cold block directory is damaged', { cause })
  }
}

function decodeFormatTwo(bytes: Uint8Array, count: number, rawBytes: number): BlockRecord[] {
  const records: BlockRecord[] = []
  let at = 0
  const varint = () => {
    let value = 0
    for (let scale = 1; ; scale *= 0x80) {
      if (at >= bytes.byteLength || scale > 0x80 ** 4) throw new Error(`a number runs past the directory at ${at}`)
      const byte = bytes[at++]!
      value += (byte & 0x7f) * scale
      if (byte < 0x80) return value
    }
  }
  let key = new Uint8Array(256)
  let keyLength = 0
  let offset = 0
  for (let i = 0; i < count; i++) {
    const head = varint()
    const shared = Math.floor(head / 2)
    const rest = varint()
    if (shared > keyLength || shared + rest > MAX_KEY_BYTES || at + rest > bytes.byteLength) throw new Error(`record ${i} has a key that does not fit`)
    if (key.byteLength < shared + rest) {
      const grown = new Uint8Array(shared + rest)
      grown.set(key.subarray(0, shared))
      key = grown
    }
    key.set(bytes.subarray(at, at + rest), shared)
    at += rest
    keyLength = shared + rest
    const text = decoder.decode(key.subarray(0, keyLength))
    if (head % 2 === 1) {
      records.push({ kind: KIND_DELETE, key: text, offset: 0, length: 0 })
      continue
    }
    const length = varint()
    records.push({ kind: KIND_PUT, key: text, offset, length })
    offset += length
  }
  if (at !== bytes.byteLength) throw new Error(`the directory holds ${bytes.byteLength} bytes; its ${count} records take ${at}`)
  if (offset !== rawBytes) throw new Error(`the records' lengths add up to ${offset} bytes; the payload holds ${rawBytes}`)
  return records
}

function decodeFormatOne(bytes: Uint8Array, count: number): BlockRecord[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const records: BlockRecord[] = []
  let at = 0
  for (let i = 0; i < count; i++) {
    const kind = bytes[at]
    if (kind !== KIND_PUT && kind !== KIND_DELETE) throw new Error(`record ${i} has kind ${kind}`)
    const keyLength = view.getUint16(at + 1, true)
    const key = decoder.decode(bytes.subarray(at + 3, at + 3 + keyLength))
    at += 3 + keyLength
    records.push({ kind, key, offset: view.getUint32(at, true), length: view.getUint32(at + 4, true) })
    at += 8
  }
  if (at !== bytes.byteLength) throw new Error(`the directory holds ${bytes.byteLength} bytes; its ${count} records take ${at}`)
  return records
}

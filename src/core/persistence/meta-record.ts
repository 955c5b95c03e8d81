import { xxHash32 } from './xxhash32.ts'
import { Packr } from 'msgpackr'
import { TiermemError } from '../api/errors.ts'

/**
 * The stored form of registry metadata (journal chunks and snapshot parts): a list of items,
 * each an entry record (positional array) or the store key of a deleted entry, built so that a
 * damaged byte anywhere is detected and costs at most the one entry it falls in — never a silent
 * change, never the whole memory.
 *
 *   0          0xC1: a byte msgpack never uses, so version 1 records (plain msgpack) never start with it
 *   1          format version (2)
 *   2..5       u32 body length
 *   body       a msgpack array of the items; each item's bytes also decode alone
 *   directory  msgpack [offsets in the body, xxHash32 of each item, each item's store key]
 *   tail       u32 directory length, u32 xxHash32(directory), u32 xxHash32(body), version again
 *
 * Reading checks the body's hash and decodes it in one go (the common case). If that fails,
 * the directory (checked by its own hash) locates and checks each item alone: a damaged item is
 * reported by the store key the directory keeps for it. Lengths and the version are each stored
 * twice, on paths that never depend on the same byte, so one damaged byte cannot break both.
 * Why not one hash over everything: then any damage would lose every entry of a 2,000-entry
 * snapshot part, and a damaged delete could not even say which entry it deleted.
 */
const MARKER = 0xc1
const VERSION = 2
const HEAD = 6
const TAIL = 13
const SEED = 0x7469_6572

/** Metadata is plain arrays, strings and numbers: no structured-clone or record extensions. */
const packr = new Packr({ useRecords: false, moreTypes: false })

/** An item of a metadata record that failed its check: the entry it describes is damaged. */
export class DamagedItem {
  constructor(readonly storeKey: string) {}
}

/** Encodes items with the store key each one describes. */
export function encodeMetaRecord(items: readonly unknown[], storeKeys: readonly string[]): Uint8Array {
  // One pack() of the whole list, then each item located by walking the bytes: a pack() per item
  // cost twice as much, most of it call overhead while a fresh worker runs the code unoptimised.
  // A copy: pack() reuses its buffer for the directory below.
  const body = new Uint8Array(packr.pack(items))
  const offsets: number[] = []
  const hashes: number[] = []
  let at = arrayHeaderLength(body)
  for (let i = 0; i < items.length; i++) {
    const end = skipValue(body, at)
    offsets.push(at)
    hashes.push(xxHash32(body.subarray(at, end), SEED) >>> 0)
    at = end
  }
  const directory = packr.pack([offsets, hashes, storeKeys])
  const out = new Uint8Array(HEAD + body.byteLength + directory.byteLength + TAIL)
  const view = new DataView(out.buffer)
  out[0] = MARKER
  out[1] = VERSION
  view.setUint32(2, body.byteLength)
  out.set(body, HEAD)
  out.set(directory, HEAD + body.byteLength)
  const tail = HEAD + body.byteLength + directory.byteLength
  view.setUint32(tail, directory.byteLength)
  view.setUint32(tail + 4, xxHash32(directory, SEED) >>> 0)
  view.setUint32(tail + 8, xxHash32(body, SEED) >>> 0)
  out[tail + 12] = VERSION
  return out
}

/** Length of the msgpack array header at the start of `bytes`. */
function arrayHeaderLength(bytes: Uint8Array): number {
  const type = bytes[0]!
  if (type >= 0x90 && type <= 0x9f) return 1
  if (type === 0xdc) return 3
  if (type === 0xdd) return 5
  throw new TiermemError('INVALID_VALUE', 'a metadata record must be a list')
}

// Lengths read from the bytes, big-endian as msgpack writes them: a DataView a value was most of
// a checkpoint's garbage (37 of ~80 MiB writing 100k entries' metadata, measured).
const u16 = (bytes: Uint8Array, i: number) => (bytes[i]! << 8) | bytes[i + 1]!
const u32 = (bytes: Uint8Array, i: number) => bytes[i]! * 0x100_0000 + ((bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!)

/** Where the msgpack value starting at `at` ends. */
function skipValue(bytes: Uint8Array, at: number): number {
  const type = bytes[at]!
  if (type <= 0x7f || type >= 0xe0 || type === 0xc0 || type === 0xc2 || type === 0xc3) return at + 1
  if (type >= 0xa0 && type <= 0xbf) return at + 1 + (type & 0x1f)
  if (type >= 0x90 && type <= 0x9f) return skipMany(bytes, at + 1, type & 0x0f)
  if (type >= 0x80 && type <= 0x8f) return skipMany(bytes, at + 1, 2 * (type & 0x0f))
  switch (type) {
    case 0xcc:
    case 0xd0:
      return at + 2
    case 0xcd:
    case 0xd1:
      return at + 3
    case 0xca:
    case 0xce:
    case 0xd2:
      return at + 5
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return at + 9
    case 0xd9:
    case 0xc4:
      return at + 2 + bytes[at + 1]!
    case 0xda:
    case 0xc5:
      return at + 3 + u16(bytes, at + 1)
    case 0xdb:
    case 0xc6:
      return at + 5 + u32(bytes, at + 1)
    case 0xdc:
      return skipMany(bytes, at + 3, u16(bytes, at + 1))
    case 0xdd:
      return skipMany(bytes, at + 5, u32(bytes, at + 1))
    // Extensions: msgpackr writes undefined as fixext1.
    case 0xd4:
      return at + 3
    case 0xd5:
      return at + 4
    case 0xd6:
      return at + 6
    case 0xd7:
      return at + 10
    case 0xd8:
      return at + 18
    case 0xc7:
      return at + 3 + bytes[at + 1]!
    case 0xc8:
      return at + 4 + u16(bytes, at + 1)
    case 0xc9:
      return at + 6 + u32(bytes, at + 1)
    case 0xde:
      return skipMany(bytes, at + 3, 2 * u16(bytes, at + 1))
    case 0xdf:
      return skipMany(bytes, at + 5, 2 * u32(bytes, at + 1))
    default:
      throw new TiermemError('INVALID_VALUE', `a metadata record holds a msgpack type (0x${type.toString(16)}) it never writes`)
  }
}

function skipMany(bytes: Uint8Array, at: number, count: number): number {
  for (let i = 0; i < count; i++) at = skipValue(bytes, at)
  return at
}

/**
 * The items of a metadata record in order, a DamagedItem in place of each that failed its
 * check. `legacy` decodes a version 1 record (no checksums). Throws CORRUPT, naming `what`, only
 * when the record is unreadable as a whole (more than one damaged byte) or of an unknown version.
 */
export function decodeMetaRecord(bytes: Uint8Array, what: string, legacy: (bytes: Uint8Array) => unknown[] | undefined): unknown[] {
  if (bytes[0] !== MARKER) {
    const items = legacy(bytes)
    if (items) return items
    // Not a version 1 record: a version 2 record whose first byte is damaged is still read below.
  }
  const length = bytes.byteLength
  if (length < HEAD + 5 + TAIL) throw unreadable(what)
  const head = bytes[1]
  const tail = bytes[length - 1]
  if (head !== VERSION && tail !== VERSION) {
    if (head === tail) throw new TiermemError('CORRUPT', `${what} has format version ${head}; it was written by a newer tiermem`)
    throw unreadable(what)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, length)
  const bodyLength = view.getUint32(2)
  const directoryLength = view.getUint32(length - TAIL)
  const directoryHash = view.getUint32(length - TAIL + 4)
  const bodyHash = view.getUint32(length - TAIL + 8)
  if (HEAD + bodyLength <= length - TAIL) {
    const body = bytes.subarray(HEAD, HEAD + bodyLength)
    if (xxHash32(body, SEED) >>> 0 === bodyHash) {
      const items = tryUnpack(body)
      if (Array.isArray(items)) return items
    }
  }
  // The body failed its check: find and check each item through the directory.
  const directoryStart = length - TAIL - directoryLength
  if (directoryStart < HEAD || directoryStart > length - TAIL) throw unreadable(what)
  const directory = bytes.subarray(directoryStart, length - TAIL)
  if (xxHash32(directory, SEED) >>> 0 !== directoryHash) throw unreadable(what)
  const parsed = tryUnpack(directory)
  if (!isDirectory(parsed)) throw unreadable(what)
  const [offsets, hashes, keys] = parsed
  const items: unknown[] = []
  for (let i = 0; i < offsets.length; i++) {
    const start = HEAD + offsets[i]!
    const end = i + 1 < offsets.length ? HEAD + offsets[i + 1]! : directoryStart
    const item = start < end && end <= directoryStart ? bytes.subarray(start, end) : undefined
    const value = item && xxHash32(item, SEED) >>> 0 === hashes[i] ? tryUnpack(item) : NOTHING
    items.push(value === NOTHING ? new DamagedItem(keys[i]!) : value)
  }
  return items
}

const NOTHING = Symbol('nothing')

function tryUnpack(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes)
  } catch {
    return NOTHING
  }
}

function isDirectory(value: unknown): value is [number[], number[], string[]] {
  if (!Array.isArray(value) || value.length !== 3) return false
  const [offsets, hashes, keys] = value as unknown[][]
  return (
    Array.isArray(offsets) &&
    Array.isArray(hashes) &&
    Array.isArray(keys) &&
    offsets.length === hashes.length &&
    offsets.length === keys.length &&
    offsets.every((o, i) => typeof o === 'number' && (i === 0 || o > (offsets[i - 1] as number))) &&
    keys.every((k) => typeof k === 'string')
  )
}

function unreadable(what: string): TiermemError {
  return new TiermemError('CORRUPT', `${what} is damaged beyond what its checks can locate`)
}

/**
 * A small record kept in two copies (the registry checkpoint pointer): each copy carries its own
 * hash, so a damaged copy is told from a good one and the other is used.
 */
export function encodeChecked(value: unknown): Uint8Array {
  const body = packr.pack(value)
  const out = new Uint8Array(2 + body.byteLength + 4)
  out[0] = MARKER
  out[1] = VERSION
  out.set(body, 2)
  new DataView(out.buffer).setUint32(2 + body.byteLength, xxHash32(body, SEED) >>> 0)
  return out
}

/** The value of a checked record, or undefined when this copy is damaged. */
export function decodeChecked(bytes: Uint8Array): { value: unknown } | undefined {
  if (bytes.byteLength < 7 || bytes[0] !== MARKER || bytes[1] !== VERSION) return undefined
  const body = bytes.subarray(2, bytes.byteLength - 4)
  const hash = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(bytes.byteLength - 4)
  if (xxHash32(body, SEED) >>> 0 !== hash) return undefined
  const value = tryUnpack(body)
  return value === NOTHING ? undefined : { value }
}

/** Whether bytes are a checked record (as opposed to a version 1 plain msgpack one). */
export function isChecked(bytes: Uint8Array): boolean {
  return bytes[0] === MARKER
}

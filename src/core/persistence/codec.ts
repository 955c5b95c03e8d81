import { addExtension, Packr } from 'msgpackr'
import { TiermemError } from '../api/errors.ts'
import { checkStorable } from './storable.ts'

/**
 * The value codec: one binary format for every tier and runtime, so sizes are exact and the
 * bytes can be hashed, compressed and moved without re-encoding.
 *
 * msgpackr was chosen by measurement (bench/core.bench.ts, "codec" rows): it encodes a 0.5 KiB
 * chat message in ~1.3 µs and decodes it in ~1 µs, faster than JSON.stringify and
 * structuredClone here, and keeps Date, Map, Set, typed arrays, ArrayBuffer, BigInt, RegExp
 * and Error that JSON loses. `structuredClone: true` also keeps shared references and cycles.
 * Records are self-contained (no shared structure table), so any decoder reads any record.
 */
const packr = new Packr({
  moreTypes: true,
  structuredClone: true,
  // msgpackr would store a function as nil; we refuse it instead of losing it silently.
  writeFunction() {
    throw new TypeError('functions cannot be stored')
  },
})

/**
 * msgpack writes -0 as the integer 0. A value holding one is encoded from a copy in which each
 * -0 is this marker, written as an extension that decodes back to -0. msgpackr keeps one global
 * table of extensions, so the type code (0x2d, '-') is registered once, here; it is the only one
 * tiermem adds.
 */
class NegativeZero {}
const NEGATIVE_ZERO_TYPE = 0x2d
const EMPTY = new Uint8Array(0)
addExtension({ Class: NegativeZero, type: NEGATIVE_ZERO_TYPE, pack: () => EMPTY, unpack: () => -0 })

export function encodeValue(value: unknown): Uint8Array {
  try {
    const negativeZero = checkStorable(value)
    return packr.pack(negativeZero ? withSignedZeros(value, new Map()) : value)
  } catch (cause) {
    if (cause instanceof TiermemError) throw cause
    const reason = cause instanceof Error ? cause.message : String(cause)
    throw new TiermemError(
      'INVALID_VALUE',
      `the value cannot be stored (${reason}); store plain data: objects, arrays, strings, numbers, ` +
        'booleans, null, Date, Map, Set, typed arrays or ArrayBuffer',
      { cause },
    )
  }
}

/** A copy of the containers of `value` with every -0 replaced by the marker; shared references and cycles kept. */
function withSignedZeros(value: unknown, copies: Map<object, unknown>): unknown {
  if (typeof value === 'number') return value === 0 && 1 / value < 0 ? new NegativeZero() : value
  if (typeof value !== 'object' || value === null) return value
  const done = copies.get(value)
  if (done !== undefined) return done
  if (Array.isArray(value)) {
    const copy: unknown[] = []
    copies.set(value, copy)
    for (const item of value) copy.push(withSignedZeros(item, copies))
    return copy
  }
  if (value instanceof Map) {
    const copy = new Map()
    copies.set(value, copy)
    for (const [k, v] of value) copy.set(withSignedZeros(k, copies), withSignedZeros(v, copies))
    return copy
  }
  if (value instanceof Set) {
    const copy = new Set()
    copies.set(value, copy)
    for (const member of value) copy.add(withSignedZeros(member, copies))
    return copy
  }
  if (Object.prototype.toString.call(value) !== '[object Object]') return value
  const copy: Record<string, unknown> = Object.getPrototypeOf(value) === null ? Object.create(null) : {}
  copies.set(value, copy)
  for (const key in value) copy[key] = withSignedZeros((value as Record<string, unknown>)[key], copies)
  return copy
}

export function decodeValue(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes)
  } catch (cause) {
    throw new TiermemError('CORRUPT', 'a stored value could not be decoded; the entry is damaged', { cause })
  }
}

/**
 * Whether a decoded value is made only of plain objects, arrays and primitives. Such a value
 * can be deep-frozen and handed to every reader without a copy: a reader's attempt to change
 * it throws (strict mode) or is ignored, and never reaches what is stored. Values holding Map,
 * Set, Date, typed arrays or buffers cannot be frozen (their contents stay mutable), so the hot
 * tier keeps their bytes and decodes a fresh copy per read. Measured in bench/core.bench.ts.
 */
export function isPlain(value: unknown, depth = 0): boolean {
  if (value === null || typeof value !== 'object') return true
  // A cycle (structured clone keeps them) never ends: past this depth a value is not plain, and
  // each read decodes a fresh copy, cycle included.
  if (depth > MAX_PLAIN_DEPTH) return false
  if (Array.isArray(value)) {
    for (const item of value) if (!isPlain(item, depth + 1)) return false
    return true
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return false
  for (const key in value) if (!isPlain((value as Record<string, unknown>)[key], depth + 1)) return false
  return true
}

const MAX_PLAIN_DEPTH = 200

/** Freezes a plain value and everything in it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const key in value) deepFreeze((value as Record<string, unknown>)[key])
    Object.freeze(value)
  }
  return value
}

/** Freezes a value in place if it is plain (see isPlain), and says whether it did. */
export function freezeIfPlain(value: unknown): boolean {
  if (!isPlain(value)) return false
  deepFreeze(value)
  return true
}

/** True for values that are immutable already and need neither copy nor freeze. */
export function isPrimitive(value: unknown): boolean {
  return value === null || (typeof value !== 'object' && typeof value !== 'function')
}

/**
 * A copy of bytes in a buffer of their own. Not `.slice()`: on a Node Buffer (what msgpackr
 * returns in Node) slice is a view into a shared pool, which would keep the pool alive, and
 * transferring it would detach bytes that are not ours.
 */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes)
}

/** Parts joined into one new array (a single part is returned as it is). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!
  let total = 0
  for (const part of parts) total += part.byteLength
  const out = new Uint8Array(total)
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.byteLength
  }
  return out
}

/**
 * The bytes as an array of their own: `bytes` itself when it is a plain Uint8Array spanning its
 * whole buffer, else a copy. Stores that serialize what they are given use it: a view (a Node
 * Buffer from a pool, a subarray) would take its whole buffer along.
 */
export function ownBytes(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes
    : copyBytes(bytes)
}

import type { TimeSlices } from '../engine/time-slices.ts'
import { utf8Into } from '../persistence/utf8-into.ts'

/**
 * Store keys packed into one byte array (each a u32 length, then the UTF-8 of namespace NUL
 * key), for the backup state a memory keeps between backups. Stored as an array of 100k
 * strings, the state took 33–70 ms of the engine's thread to encode and 15–26 ms to decode, in
 * one go each (measured, in Node); packed, each side runs in time slices, and the value itself
 * is one binary field. Names are well-formed strings (checkKey), so UTF-8 gives them back
 * exactly.
 */
const decoder = new TextDecoder('utf-8', { fatal: true })

/** Packs each entry's store key (namespace NUL key), written from its two names. */
export async function packKeys(namespaces: readonly string[], keys: readonly string[], slices: TimeSlices): Promise<Uint8Array> {
  // Room for the worst case of the first keys, grown by doubling if needed.
  let out = new Uint8Array(Math.max(64, keys.length * 48))
  let view = new DataView(out.buffer)
  let at = 0
  for (let i = 0; i < keys.length; i++) {
    const namespace = namespaces[i]!
    const key = keys[i]!
    // UTF-8 takes at most three bytes for a UTF-16 unit.
    const most = 5 + 3 * (namespace.length + key.length)
    if (at + most > out.byteLength) {
      let size = out.byteLength * 2
      while (size < at + most) size *= 2
      const grown = new Uint8Array(size)
      grown.set(out.subarray(0, at))
      out = grown
      view = new DataView(out.buffer)
    }
    let written = utf8Into(namespace, out, at + 4)
    out[at + 4 + written++] = 0
    written += utf8Into(key, out, at + 4 + written)
    view.setUint32(at, written, true)
    at += 4 + written
    const pause = slices.pace()
    if (pause) await pause
  }
  return out.subarray(0, at)
}

/** The keys back, or undefined if the bytes do not hold exactly `count` of them (a state that does not read is no state). */
export async function unpackKeys(bytes: Uint8Array, count: number, slices: TimeSlices): Promise<string[] | undefined> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const keys: string[] = new Array(count)
  let at = 0
  for (let i = 0; i < count; i++) {
    if (at + 4 > bytes.byteLength) return undefined
    const length = view.getUint32(at, true)
    if (at + 4 + length > bytes.byteLength) return undefined
    try {
      keys[i] = decoder.decode(bytes.subarray(at + 4, at + 4 + length))
    } catch {
      return undefined
    }
    at += 4 + length
    const pause = slices.pace()
    if (pause) await pause
  }
  return at === bytes.byteLength ? keys : undefined
}

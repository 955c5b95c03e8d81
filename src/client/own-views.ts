import { encodeValue } from '../core/persistence/codec.ts'
import type { PutOptions } from '../core/api/types.ts'

/**
 * What crosses to the worker, taken as it is when the call is made, and no more of it.
 *
 * Structured clone copies a typed array's whole buffer: a 384-dim query cut from a batch of 300
 * embeddings (`batch.subarray(i * 384, …)`, as a model's output is sliced) sent 460 KB a recall
 * and made it ten times slower. And a put leaves later than it is called (with its turn's batch,
 * or to a new leading tab): a vector or an object the caller reused meanwhile was stored as
 * changed. In-process, the engine takes both at once.
 */

/** A typed array copied to its own bytes. Anything else as it is. */
export function ownView<T>(value: T): T {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return (value as unknown as Uint8Array).slice() as unknown as T
  return value
}

/** A put's options with its vector and tags copied; anything but an options object as it is (the engine refuses it). */
export function ownPutOptions<T extends PutOptions | undefined>(options: T): T {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return options
  const own: PutOptions = { ...options }
  if (own.vector !== undefined) own.vector = ownView(own.vector)
  if (Array.isArray(own.tags)) own.tags = [...own.tags]
  return own as T
}

/** A value encoded when it was put, held to be sent (again) later: the connection sends these bytes. */
export class HeldValue {
  constructor(readonly bytes: Uint8Array) {}
}

/** The bytes a put sends: the held ones, or the value encoded now. */
export function bytesOf(value: unknown): Uint8Array {
  return value instanceof HeldValue ? value.bytes : encodeValue(value)
}

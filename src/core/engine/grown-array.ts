/** Any typed array the engine grows (registry columns, the vector index's per-node arrays). */
export type GrowableArray = Int8Array | Uint8Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array

/** A copy of `array` at `size` elements (≥ its length): its elements kept, the new ones `fill` (0 by default). */
export function grownArray<T extends GrowableArray>(array: T, size: number, fill = 0): T {
  const bigger = new (array.constructor as new (n: number) => T)(size)
  if (fill !== 0) bigger.fill(fill as never, array.length)
  bigger.set(array as never)
  return bigger
}

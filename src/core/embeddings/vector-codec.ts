/**
 * How cached vectors are stored: as they are (Float32, 4 bytes a dimension), or quantized to
 * int8 with one scale per vector (1 byte a dimension, ~0.4 % error on unit vectors), chosen by
 * the cache's `quantize`. A quantized vector is one Int8Array: four bytes of Float32 scale
 * (little-endian), then one byte a dimension. One typed array rather than `{ scale, q }`: the
 * codec writes it with a 3-byte header and no field names, ~20 bytes less per vector. Both are
 * values the codec keeps exactly, so every tier reads back the same bytes and a quantized vector
 * always reads back as the same dequantized Float32Array.
 */
const SCALE_BYTES = 4

export type StoredVector = Float32Array | Int8Array

export function quantize(vector: Float32Array): Int8Array {
  let scale = 0
  for (const x of vector) scale = Math.max(scale, Math.abs(x))
  // The scale as it will read back, so the components are rounded against the same value.
  scale = Math.fround(scale)
  const out = new Int8Array(SCALE_BYTES + vector.length)
  new DataView(out.buffer).setFloat32(0, scale, true)
  if (scale > 0) for (let i = 0; i < vector.length; i++) out[SCALE_BYTES + i] = Math.round((vector[i]! / scale) * 127)
  return out
}

export function dequantize(stored: Int8Array): Float32Array {
  const scale = new DataView(stored.buffer, stored.byteOffset, SCALE_BYTES).getFloat32(0, true)
  const out = new Float32Array(stored.length - SCALE_BYTES)
  for (let i = 0; i < out.length; i++) out[i] = (stored[SCALE_BYTES + i]! / 127) * scale
  return out
}

export function toStored(vector: Float32Array, quantized: boolean): StoredVector {
  return quantized ? quantize(vector) : vector
}

/** The vector a stored value stands for, or undefined if the value is not one (a damaged or foreign entry). */
export function fromStored(value: unknown, dims: number): Float32Array | undefined {
  if (value instanceof Float32Array) return value.length === dims ? value : undefined
  if (value instanceof Int8Array) return value.length === SCALE_BYTES + dims ? dequantize(value) : undefined
  return undefined
}

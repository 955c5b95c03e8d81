/**
 * How cached vectors are stored: as they are (Float32, 4 bytes a dimension), or quantized to
 * int8 with one scale per vector (1 byte a dimension, ~0.4 % error on unit vectors), chosen by
 * the cache's `quantize`. Both are values the codec keeps exactly, so every tier reads back the
 * same bytes; a quantized vector always reads back as the same dequantized Float32Array.
 */
export interface QuantizedVector {
  /** The largest absolute component; q[i] / 127 * scale is component i. */
  scale: number
  q: Int8Array
}

export type StoredVector = Float32Array | QuantizedVector

export function quantize(vector: Float32Array): QuantizedVector {
  let scale = 0
  for (const x of vector) scale = Math.max(scale, Math.abs(x))
  const q = new Int8Array(vector.length)
  if (scale > 0) for (let i = 0; i < vector.length; i++) q[i] = Math.round((vector[i]! / scale) * 127)
  return { scale, q }
}

export function dequantize({ scale, q }: QuantizedVector): Float32Array {
  const out = new Float32Array(q.length)
  for (let i = 0; i < q.length; i++) out[i] = (q[i]! / 127) * scale
  return out
}

export function toStored(vector: Float32Array, quantized: boolean): StoredVector {
  return quantized ? quantize(vector) : vector
}

/** The vector a stored value stands for, or undefined if the value is not one (a damaged or foreign entry). */
export function fromStored(value: unknown, dims: number): Float32Array | undefined {
  if (value instanceof Float32Array) return value.length === dims ? value : undefined
  const quantized = value as Partial<QuantizedVector> | undefined
  if (quantized && quantized.q instanceof Int8Array && typeof quantized.scale === 'number' && quantized.q.length === dims)
    return dequantize(quantized as QuantizedVector)
  return undefined
}

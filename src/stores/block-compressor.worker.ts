// Deflates cold-store block payloads off the engine worker's thread (see block-compressor.ts).
import { compressPayload, type DeflateLevel } from './segment-format.ts'

interface Job {
  id: number
  raws: Uint8Array[]
  level: DeflateLevel
}

self.onmessage = (event: MessageEvent<Job>) => {
  const { id, raws, level } = event.data
  try {
    // Each raw goes back with its result, so the engine lays out later blocks in it (block-buffers.ts).
    const results = raws.map((raw) => ({ ...compressPayload(raw, level), raw }))
    const transfer = [...new Set(results.flatMap((r) => [r.payload.buffer, r.raw.buffer] as ArrayBuffer[]))]
    ;(self as unknown as Worker).postMessage({ id, results }, transfer)
  } catch (error) {
    ;(self as unknown as Worker).postMessage({ id, error: String(error) })
  }
}

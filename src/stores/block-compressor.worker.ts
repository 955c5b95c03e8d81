// Deflates cold-store block payloads off the engine worker's thread (see block-compressor.ts).
import { compressPayload, type DeflateLevel } from './segment-format.ts'

interface Job {
  id: number
  raws: Uint8Array[]
  level: DeflateLevel
  /** Send each raw back with its result (block-compressor.ts). */
  handBack: boolean
}

self.onmessage = (event: MessageEvent<Job>) => {
  const { id, raws, level, handBack } = event.data
  try {
    // Raws asked back go with their results: the cold store lays later blocks out in them (block-buffers.ts).
    const results = raws.map((raw) => (handBack ? { ...compressPayload(raw, level), raw } : compressPayload(raw, level)))
    const transfer = [...new Set(results.flatMap((r) => [r.payload.buffer, ...(r.raw ? [r.raw.buffer] : [])] as ArrayBuffer[]))]
    ;(self as unknown as Worker).postMessage({ id, results }, transfer)
  } catch (error) {
    ;(self as unknown as Worker).postMessage({ id, error: String(error) })
  }
}

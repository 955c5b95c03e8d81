// Deflates cold-store block payloads off the engine worker's thread (see block-compressor.ts).
import { compressAsAsked, type CompressOptions } from './compress-as-asked.ts'
import type { DeflateLevel } from './segment-format.ts'

interface Job {
  id: number
  raws: Uint8Array[]
  level: DeflateLevel
  /** Raws asked back go with their results (the cold store lays later blocks out in them: block-buffers.ts); sums asked for come with them. */
  options: CompressOptions
}

self.onmessage = async (event: MessageEvent<Job>) => {
  const { id, raws, level, options } = event.data
  try {
    const results = await Promise.all(raws.map((raw) => compressAsAsked(raw, level, options)))
    const transfer = [...new Set(results.flatMap((r) => [r.payload.buffer, ...(r.raw ? [r.raw.buffer] : [])] as ArrayBuffer[]))]
    ;(self as unknown as Worker).postMessage({ id, results }, transfer)
  } catch (error) {
    ;(self as unknown as Worker).postMessage({ id, error: String(error) })
  }
}

// Deflates cold-store block payloads, and inflates a restore's record files, off the engine
// worker's thread (see block-compressor.ts).
import { inflateChecked } from '../core/backup/inflate-checked.ts'
import type { CompressorJob } from './block-compressor.ts'
import { compressAsAsked } from './compress-as-asked.ts'

self.onmessage = async (event: MessageEvent<CompressorJob>) => {
  const job = event.data
  try {
    if (job.kind === 'inflate') {
      const results = await Promise.all(job.payloads.map(inflateChecked))
      const transfer = [...new Set(results.flatMap((r) => (r ? [r.bytes.buffer as ArrayBuffer] : [])))]
      ;(self as unknown as Worker).postMessage({ id: job.id, results }, transfer)
      return
    }
    const results = await Promise.all(job.raws.map((raw) => compressAsAsked(raw, job.level, job.options)))
    const transfer = [...new Set(results.flatMap((r) => [r.payload.buffer, ...(r.raw ? [r.raw.buffer] : [])] as ArrayBuffer[]))]
    ;(self as unknown as Worker).postMessage({ id: job.id, results }, transfer)
  } catch (error) {
    ;(self as unknown as Worker).postMessage({ id: job.id, error: String(error) })
  }
}

import { TiermemError } from '../core/api/errors.ts'
import { compressAsAsked, type CompressOptions } from './compress-as-asked.ts'
import type { Compressed, DeflateLevel } from './segment-format.ts'

export type { CompressOptions } from './compress-as-asked.ts'

/** Compresses block payloads: here, or on a thread of its own. */
export interface BlockCompressor {
  /** Each payload deflated where that saves ≥ 5 %. The raws are handed over: do not use them after. */
  compress(raws: Uint8Array[], level: DeflateLevel, options?: CompressOptions): Promise<Compressed[]>
  close(): void
}

export function inlineCompressor(): BlockCompressor {
  return {
    compress: (raws, level, options) => Promise.all(raws.map((raw) => compressAsAsked(raw, level, options))),
    close() {},
  }
}

/**
 * Compressors on dedicated workers of their own. Why: deflate is ~80 % of a warm → cold move
 * (measured); on the engine's thread it also stalls every read behind each block. Off that
 * thread it runs beside the engine's IndexedDB reads and flips, reads keep flowing, and with
 * `threads` > 1 one batch's blocks are deflated in parallel. Plain messages rather than
 * comlink: comlink never settles a call whose worker failed to load or died, and a hang here
 * would stall every cold write; here a failure rejects what is pending and later calls
 * compress inline.
 */
export function workerCompressor(
  threads: number,
  /** Starts one worker (tests inject one that fails). */
  spawn: () => Worker = () => new Worker(new URL('./block-compressor.worker.ts', import.meta.url), { type: 'module' }),
): BlockCompressor {
  const pending = new Map<number, { resolve(results: Compressed[]): void; reject(error: unknown): void }>()
  const inline = inlineCompressor()
  let failed: unknown
  let nextId = 1
  const workers: Worker[] = []
  const fail = (error: unknown) => {
    failed ??= error
    for (const call of pending.values()) call.reject(failed)
    pending.clear()
    for (const worker of workers) worker.terminate()
  }
  for (let i = 0; i < threads; i++) {
    const worker = spawn()
    worker.onmessage = (event: MessageEvent<{ id: number; results?: Compressed[]; error?: string }>) => {
      const call = pending.get(event.data.id)
      if (!call) return
      pending.delete(event.data.id)
      if (event.data.results) call.resolve(event.data.results)
      else call.reject(new TiermemError('CLOSED', `the compression worker failed: ${event.data.error}`))
    }
    worker.onerror = (event) => {
      event.preventDefault()
      fail(new TiermemError('CLOSED', `the compression worker failed: ${event.message || 'it could not start'}`))
    }
    workers.push(worker)
  }
  const send = (worker: Worker, raws: Uint8Array[], level: DeflateLevel, options: CompressOptions) =>
    new Promise<Compressed[]>((resolve, reject) => {
      const id = nextId++
      pending.set(id, { resolve, reject })
      worker.postMessage({ id, raws, level, options }, [...new Set(raws.map((raw) => raw.buffer as ArrayBuffer))])
    })
  return {
    async compress(raws, level, options = {}) {
      if (failed !== undefined) return inline.compress(raws, level, options)
      // Contiguous shares, one per worker; results come back in order.
      const share = Math.ceil(raws.length / workers.length)
      const parts = workers
        .map((worker, i) => raws.slice(i * share, (i + 1) * share))
        .map((part, i) => (part.length === 0 ? Promise.resolve([]) : send(workers[i]!, part, level, options)))
      return (await Promise.all(parts)).flat()
    },
    close() {
      fail(new TiermemError('CLOSED', 'the cold store was closed'))
    },
  }
}

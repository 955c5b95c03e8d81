import { TiermemError } from '../core/api/errors.ts'
import { inflateHere } from '../core/backup/inflate-checked.ts'
import type { Inflatable, Inflated } from '../core/store/inflater.ts'
import { compressAsAsked, type CompressOptions } from './compress-as-asked.ts'
import type { Compressed, DeflateLevel } from './segment-format.ts'

export type { CompressOptions } from './compress-as-asked.ts'

/** Compresses block payloads: here, or on a thread of its own. */
export interface BlockCompressor {
  /**
   * Each payload deflated where that saves ≥ 5 %. The raws are handed over: do not use them after.
   * `threads`: at most this many of the compressor's threads (background work while reads flow).
   */
  compress(raws: Uint8Array[], level: DeflateLevel, options?: CompressOptions, threads?: number): Promise<Compressed[]>
  /** Each payload inflated and hashed (an `Inflater`: a restore's record files). The payloads are handed over. */
  inflate(payloads: Inflatable[]): Promise<Array<Inflated | undefined>>
  close(): void
}

export function inlineCompressor(): BlockCompressor {
  return {
    compress: (raws, level, options) => Promise.all(raws.map((raw) => compressAsAsked(raw, level, options))),
    inflate: inflateHere,
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
  const pending = new Map<number, { resolve(results: never[]): void; reject(error: unknown): void }>()
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
    worker.onmessage = (event: MessageEvent<{ id: number; results?: never[]; error?: string }>) => {
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
  const send = <R>(worker: Worker, job: CompressorCall, buffers: ArrayBuffer[]) =>
    new Promise<R[]>((resolve, reject) => {
      const id = nextId++
      pending.set(id, { resolve: resolve as (results: never[]) => void, reject })
      worker.postMessage({ ...job, id }, [...new Set(buffers)])
    })
  /** Contiguous shares, one per worker (of the first `threads`); results come back in order. */
  const spread = async <T, R>(items: T[], run: (worker: Worker, share: T[]) => Promise<R[]>, threads = workers.length): Promise<R[]> => {
    const using = threads < workers.length ? workers.slice(0, Math.max(1, threads)) : workers
    const share = Math.ceil(items.length / using.length)
    const parts = using.map((worker, i) => {
      const part = items.slice(i * share, (i + 1) * share)
      return part.length === 0 ? Promise.resolve([]) : run(worker, part)
    })
    return (await Promise.all(parts)).flat()
  }
  return {
    async compress(raws, level, options = {}, threads) {
      if (failed !== undefined) return inline.compress(raws, level, options)
      return spread(
        raws,
        (worker, part) =>
          send<Compressed>(
            worker,
            { kind: 'deflate', raws: part, level, options },
            part.map((raw) => raw.buffer as ArrayBuffer),
          ),
        threads,
      )
    },
    async inflate(payloads) {
      if (failed !== undefined) return inline.inflate(payloads)
      return spread(payloads, (worker, part) =>
        send<Inflated | undefined>(
          worker,
          { kind: 'inflate', payloads: part },
          part.map((p) => p.data.buffer as ArrayBuffer),
        ),
      )
    },
    close() {
      fail(new TiermemError('CLOSED', 'the cold store was closed'))
    },
  }
}

/** What a compression worker is asked to do (block-compressor.worker.ts). */
export type CompressorCall =
  | {
      kind: 'deflate'
      raws: Uint8Array[]
      level: DeflateLevel
      /** Raws asked back go with their results (the cold store lays later blocks out in them: block-buffers.ts); sums asked for come with them. */
      options: CompressOptions
    }
  | { kind: 'inflate'; payloads: Inflatable[] }

/** A call as posted, with the id its answer carries. */
export type CompressorJob = CompressorCall & { id: number }

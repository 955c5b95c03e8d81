import { TiermemError } from '../api/errors.ts'
import { mutate } from '../api/calls.ts'
import type { Embedder, EmbeddingCacheStats } from '../api/types.ts'
import type { EngineContext } from '../engine/engine-context.ts'
import { enqueuePuts, preparePut } from '../engine/put-pipeline.ts'
import { readMany } from '../engine/read-path.ts'
import { removeEntries } from '../engine/removal.ts'
import { storeKeyOf } from '../registry/entry-record.ts'
import { cacheKey } from './cache-key.ts'
import { fromStored, toStored } from './vector-codec.ts'

/** The namespace and layer the cache's entries live in (reserved: users cannot name them). */
export const EMBEDDING_NAMESPACE = 'tiermem:embeddings'
export const EMBEDDING_LAYER = 'tiermem:embeddings'

/** At most this many texts go to the embedder in one call. */
export const MAX_BATCH = 32
/** A text waits at most this long for a busy embedder before its batch goes anyway. */
export const MAX_WAIT_MS = 100

export interface EmbeddingCacheOptions {
  /** Vectors kept, least recently used deleted first. Default 10,000. */
  maxEntries?: number
  /** Bytes of stored vectors kept. Default 64 MiB. */
  maxBytes?: number
  /** Store int8 with a scale (1 byte a dimension) instead of Float32 (4). Default false. */
  quantize?: boolean
}

const closedError = () => new TiermemError('CLOSED', 'the memory was closed before this text was embedded')

interface Waiting {
  text: string
  key: string
  resolve(vector: Float32Array): void
  reject(error: unknown): void
}

/**
 * Each text embedded once per model: vectors are entries of the memory itself (a reserved
 * namespace, type 'embedding', importance 0.1), so they persist across reloads, are shared by
 * every tab of the memory, and obey the same tiers, budgets and pressure as everything else.
 *
 * - A lookup is one getMany of the texts' keys; hits count as reads (their recency is the LRU).
 * - Misses of texts that arrive together go to the embedder as one batch (up to 32): a batch
 *   goes on the next turn while the embedder is idle, and waits for it (at most 100 ms) while
 *   it is busy. A text already on its way shares that computation.
 * - A failed embed stores nothing and rejects every call waiting for it.
 * - Beyond maxEntries or maxBytes, the least recently used vectors are deleted (reason 'cleanup').
 */
export class EmbeddingCache {
  hits = 0
  misses = 0
  /** key → stored bytes, least recently used first (a Map keeps insertion order). */
  private readonly lru = new Map<string, number>()
  private bytes = 0
  private readonly inFlight = new Map<string, Promise<Float32Array>>()
  private queue: Waiting[] = []
  private busy = 0
  private cancelFlush: (() => void) | undefined
  private readonly maxEntries: number
  private readonly maxBytes: number
  private readonly quantize: boolean
  private readonly unsubscribe: () => void
  private closed = false

  constructor(
    private readonly ctx: EngineContext,
    readonly embedder: Embedder,
    options: EmbeddingCacheOptions = {},
  ) {
    this.maxEntries = options.maxEntries ?? 10_000
    this.maxBytes = options.maxBytes ?? 64 * 2 ** 20
    this.quantize = options.quantize ?? false
    // What earlier sessions cached, oldest read first.
    const { reg } = ctx
    const stored: number[] = []
    for (const slot of reg.slots()) if (reg.namespaces[slot] === EMBEDDING_NAMESPACE) stored.push(slot)
    stored.sort((a, b) => reg.lastAccessedAt[a]! - reg.lastAccessedAt[b]!)
    for (const slot of stored) this.remember(reg.keys[slot]!, reg.sizeBytes[slot]!)
    // Vectors deleted by anything else (pressure at emergency, a damaged entry replaced) leave the LRU too.
    this.unsubscribe = ctx.feed.subscribe(
      (change) => {
        if (change.kind === 'delete' && change.namespace === EMBEDDING_NAMESPACE) this.forget(change.key)
      },
      ['delete'],
    )
  }

  stats(): EmbeddingCacheStats {
    return { entries: this.lru.size, bytes: this.bytes, hits: this.hits, misses: this.misses }
  }

  /** One unit vector per text, in order: from the cache where the same (embedder, text) was seen, else computed once. */
  async embed(texts: string[]): Promise<Float32Array[]> {
    const keys = await Promise.all(texts.map((text) => cacheKey(this.embedder.id, text)))
    if (this.closed) throw closedError()
    const out: Array<Float32Array | Promise<Float32Array>> = new Array(texts.length)
    const toRead: number[] = []
    for (let i = 0; i < texts.length; i++) {
      const shared = this.inFlight.get(keys[i]!)
      if (shared) {
        this.misses++
        out[i] = shared
      } else {
        toRead.push(i)
      }
    }
    const stored =
      toRead.length === 0
        ? []
        : await readMany(
            this.ctx,
            EMBEDDING_NAMESPACE,
            toRead.map((i) => keys[i]!),
          )
    toRead.forEach((i, j) => {
      const vector = fromStored(stored[j], this.embedder.dims)
      if (vector) {
        this.hits++
        this.touch(keys[i]!)
        out[i] = vector
      } else {
        this.misses++
        out[i] = this.inFlight.get(keys[i]!) ?? this.compute(texts[i]!, keys[i]!)
      }
    })
    return Promise.all(out)
  }

  /** Cancels a batch not yet sent: its callers get CLOSED. */
  close(): void {
    this.closed = true
    this.unsubscribe()
    this.cancelFlush?.()
    const waiting = this.queue
    this.queue = []
    for (const w of waiting) w.reject(closedError())
  }

  private compute(text: string, key: string): Promise<Float32Array> {
    if (this.closed) return Promise.reject(closedError())
    const promise = new Promise<Float32Array>((resolve, reject) => this.queue.push({ text, key, resolve, reject }))
    this.inFlight.set(key, promise)
    promise.then(
      () => this.inFlight.delete(key),
      () => this.inFlight.delete(key),
    )
    if (this.queue.length >= MAX_BATCH) this.flush()
    else this.cancelFlush ??= this.ctx.timers.after(this.busy > 0 ? MAX_WAIT_MS : 0, () => this.flush())
    return promise
  }

  private flush(): void {
    this.cancelFlush?.()
    this.cancelFlush = undefined
    while (this.queue.length > 0) void this.run(this.queue.splice(0, MAX_BATCH))
  }

  private async run(batch: Waiting[]): Promise<void> {
    this.busy++
    try {
      const vectors = await this.embedder.embed(batch.map((w) => w.text))
      if (!Array.isArray(vectors) || vectors.length !== batch.length) {
        throw new TiermemError('DIMENSION_MISMATCH', `the embedder '${this.embedder.id}' returned ${vectors?.length} vectors for ${batch.length} texts`)
      }
      const dims = this.embedder.dims
      vectors.forEach((v) => {
        if (!(v instanceof Float32Array) || v.length !== dims) {
          throw new TiermemError('DIMENSION_MISMATCH', `the embedder '${this.embedder.id}' returned a vector of ${v?.length} dimensions; it declares ${dims}`)
        }
      })
      const stored = vectors.map((v) => toStored(v, this.quantize))
      // What the cache will give back for these texts from now on (dequantized when quantize).
      const answers = stored.map((s) => fromStored(s, dims)!)
      await this.store(batch, stored)
      batch.forEach((w, i) => w.resolve(answers[i]!))
    } catch (error) {
      for (const w of batch) w.reject(error)
    } finally {
      this.busy--
      if (this.busy === 0 && this.queue.length > 0) this.flush()
    }
  }

  /** Puts the batch's vectors; a put that fails still leaves the computed vectors to their callers. */
  private async store(batch: Waiting[], stored: unknown[]): Promise<void> {
    const prepared = batch.map((w, i) =>
      preparePut(
        this.ctx,
        w.key,
        stored[i],
        { namespace: EMBEDDING_NAMESPACE, layer: EMBEDDING_LAYER, type: 'embedding', importance: 0.1 },
        undefined,
        undefined,
        true,
      ),
    )
    try {
      const infos = await enqueuePuts(this.ctx, prepared)
      infos.forEach((info) => this.remember(info.key, info.sizeBytes))
      await this.trim()
    } catch (error) {
      if ((error as { code?: string }).code === 'CLOSED') return
      throw error
    }
  }

  private remember(key: string, size: number): void {
    this.bytes -= this.lru.get(key) ?? 0
    this.lru.delete(key)
    this.lru.set(key, size)
    this.bytes += size
  }

  private forget(key: string): void {
    const size = this.lru.get(key)
    if (size === undefined) return
    this.lru.delete(key)
    this.bytes -= size
  }

  private touch(key: string): void {
    const size = this.lru.get(key)
    if (size === undefined) return
    this.lru.delete(key)
    this.lru.set(key, size)
  }

  /** Deletes the least recently used vectors beyond maxEntries / maxBytes. */
  private async trim(): Promise<void> {
    const victims: string[] = []
    let count = this.lru.size
    let bytes = this.bytes
    for (const [key, size] of this.lru) {
      if (count <= this.maxEntries && bytes <= this.maxBytes) break
      victims.push(key)
      count--
      bytes -= size
    }
    if (victims.length === 0) return
    for (const key of victims) this.forget(key)
    const { reg } = this.ctx
    await mutate(
      this.ctx,
      victims.map((key) => storeKeyOf(EMBEDDING_NAMESPACE, key)),
      async () => {
        const slots = victims.map((key) => reg.find(EMBEDDING_NAMESPACE, key)).filter((slot) => slot >= 0)
        if (slots.length > 0) await removeEntries(this.ctx, slots, 'cleanup')
      },
    )
  }
}

import { TiermemError } from '../api/errors.ts'
import { mutate } from '../api/calls.ts'
import type { Embedder, EmbeddingCacheStats, EmbeddingOptions } from '../api/types.ts'
import { reportBackgroundError, type EngineContext } from '../engine/engine-context.ts'
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
/** Recent texts whose keys are remembered, so a repeated text costs no SHA-256 (texts up to 1,000 characters). */
const KEY_MEMO_ENTRIES = 1_024
const KEY_MEMO_MAX_TEXT = 1_000

export type EmbeddingCacheOptions = NonNullable<EmbeddingOptions['cache']>

/** Vectors kept in memory for hits that need no store read (~1.5 MB at 384 dimensions). */
const RECENT_VECTORS = 1_024

/** An embedder's answer: one vector per text, each of its declared dimensions. */
function checkVectors(embedder: Embedder, vectors: unknown, texts: number): asserts vectors is Float32Array[] {
  if (!Array.isArray(vectors) || vectors.length !== texts) {
    throw new TiermemError(
      'DIMENSION_MISMATCH',
      `the embedder '${embedder.id}' returned ${(vectors as unknown[] | undefined)?.length} vectors for ${texts} texts`,
    )
  }
  for (const v of vectors) {
    if (!(v instanceof Float32Array) || v.length !== embedder.dims) {
      throw new TiermemError(
        'DIMENSION_MISMATCH',
        `the embedder '${embedder.id}' returned a vector of ${(v as { length?: number })?.length} dimensions; it declares ${embedder.dims}`,
      )
    }
  }
}

/** Sets a Map entry at its young end (a Map iterates in insertion order), dropping the oldest beyond `limit`. */
function setYoungest<K, V>(map: Map<K, V>, key: K, value: V, limit: number): void {
  map.delete(key)
  if (map.size >= limit) map.delete(map.keys().next().value!)
  map.set(key, value)
}

/** Uses held before the LRU is reordered (see touch). */
const TOUCHES_HELD = 1_024

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
 * - A lookup is one getMany of the texts' keys; the 1,024 most recent vectors and their keys are
 *   also kept in memory, so a repeated text costs neither a hash nor a store read. Either way a
 *   hit moves the vector to the young end of the cache's LRU.
 * - Misses of texts that arrive together go to the embedder as one batch (up to 32): a batch
 *   goes once the current calls have queued their texts while the embedder is idle, and waits
 *   for it (at most 100 ms) while it is busy. A text already on its way shares that computation.
 * - Callers get their vectors as soon as they are computed; the cache's write is issued first,
 *   so a lookup after that waits for it rather than computing again.
 * - A failed embed stores nothing and rejects every call waiting for it.
 * - Beyond maxEntries or maxBytes, the least recently used vectors are deleted (reason 'cleanup').
 */
export class EmbeddingCache {
  hits = 0
  misses = 0
  /** key → stored bytes, least recently used first (a Map keeps insertion order). */
  private readonly lru = new Map<string, number>()
  /** Keys used since the LRU was last reordered, in use order (see touch). */
  private touched: string[] = []
  private bytes = 0
  private readonly inFlight = new Map<string, Promise<Float32Array>>()
  private queue: Waiting[] = []
  private busy = 0
  private cancelFlush: (() => void) | undefined
  private flushPending = false
  private readonly keyMemo = new Map<string, string>()
  private readonly recent = new Map<string, Float32Array>()
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

  get dims(): number {
    return this.embedder.dims
  }

  get embedderId(): string {
    return this.embedder.id
  }

  stats(): EmbeddingCacheStats {
    return { entries: this.lru.size, bytes: this.bytes, hits: this.hits, misses: this.misses }
  }

  /** One unit vector per text, in order: from the cache where the same (embedder, text) was seen, else computed once. */
  embed(texts: string[]): Promise<Float32Array[]> {
    // The fast path: every text seen lately, its key remembered and its vector in memory.
    const vectors: Float32Array[] = []
    for (const text of texts) {
      const key = this.keyMemo.get(text)
      const vector = key === undefined ? undefined : this.recent.get(key)
      if (!vector) return this.lookUp(texts)
      vectors.push(vector)
    }
    if (this.closed) return Promise.reject(closedError())
    this.hits += texts.length
    for (let i = 0; i < texts.length; i++) {
      const key = this.keyMemo.get(texts[i]!)!
      this.touch(key)
      // Young again in both in-memory maps, or a steady stream of new texts would push out the ones read most.
      this.memoKey(texts[i]!, key)
      this.keep(key, vectors[i]!)
    }
    // Copies: a caller that changes its vector must not change the cache's.
    return Promise.resolve(vectors.map((v) => v.slice()))
  }

  private async lookUp(texts: string[]): Promise<Float32Array[]> {
    if (this.closed) throw closedError()
    const keys = texts.map((text) => this.keyOf(text))
    const out: Array<Float32Array | Promise<Float32Array>> = new Array(texts.length)
    const toRead: number[] = []
    for (let i = 0; i < texts.length; i++) {
      const shared = this.inFlight.get(keys[i]!)
      const remembered = this.recent.get(keys[i]!)
      if (shared) {
        this.misses++
        out[i] = shared.then((v) => v.slice())
      } else if (remembered) {
        this.hits++
        this.touch(keys[i]!)
        out[i] = remembered.slice()
      } else if (this.lru.has(keys[i]!)) {
        toRead.push(i)
      } else {
        // Never stored (every stored vector is in the LRU from open or its write): no read to wait for.
        this.misses++
        out[i] = this.compute(texts[i]!, keys[i]!)
      }
    }
    const keysToRead = toRead.map((i) => keys[i]!)
    const stored = keysToRead.length === 0 ? [] : await readMany(this.ctx, EMBEDDING_NAMESPACE, keysToRead)
    toRead.forEach((i, j) => {
      const key = keys[i]!
      const vector = fromStored(stored[j], this.embedder.dims)
      if (vector) {
        this.hits++
        this.touch(key)
        this.keep(key, vector)
        out[i] = vector.slice()
      } else {
        this.misses++
        const shared = this.inFlight.get(key)
        out[i] = shared ? shared.then((v) => v.slice()) : this.compute(texts[i]!, key)
      }
    })
    return Promise.all(out)
  }

  /** Keeps a vector in memory for the fast path (the most recent RECENT_VECTORS). */
  private keep(key: string, vector: Float32Array): void {
    setYoungest(this.recent, key, vector, RECENT_VECTORS)
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
    if (this.queue.length >= MAX_BATCH) {
      this.flush()
    } else if (!this.flushPending) {
      this.flushPending = true
      // Idle: send once the calls running now have queued their texts. Busy: wait for it, at most MAX_WAIT_MS.
      if (this.busy === 0) queueMicrotask(() => this.flushPending && this.flush())
      else this.cancelFlush = this.ctx.timers.after(MAX_WAIT_MS, () => this.flush())
    }
    return promise
  }

  private keyOf(text: string): string {
    const memo = this.keyMemo.get(text)
    if (memo !== undefined) return memo
    const key = cacheKey(this.embedder.id, text)
    this.memoKey(text, key)
    return key
  }

  private memoKey(text: string, key: string): void {
    if (text.length <= KEY_MEMO_MAX_TEXT) setYoungest(this.keyMemo, text, key, KEY_MEMO_ENTRIES)
  }

  private flush(): void {
    this.flushPending = false
    this.cancelFlush?.()
    this.cancelFlush = undefined
    while (this.queue.length > 0) void this.run(this.queue.splice(0, MAX_BATCH))
  }

  private async run(batch: Waiting[]): Promise<void> {
    this.busy++
    let vectors: Float32Array[]
    try {
      vectors = await this.embedder.embed(batch.map((w) => w.text))
      checkVectors(this.embedder, vectors, batch.length)
    } catch (error) {
      for (const w of batch) w.reject(error)
      return
    } finally {
      // Free for the next batch now: storing these vectors is the engine's work, not the embedder's.
      this.busy--
      if (this.busy === 0 && this.queue.length > 0) this.flush()
    }
    const stored = vectors.map((v) => toStored(v, this.quantize))
    // What the cache gives back for these texts from now on (dequantized when quantize).
    const answers = stored.map((s) => fromStored(s, this.embedder.dims)!)
    // Issued before the callers hear back: a lookup of these texts from now on waits for the write.
    const storing = this.store(batch, stored)
    batch.forEach((w, i) => {
      this.keep(w.key, answers[i]!)
      w.resolve(answers[i]!.slice())
    })
    await storing
  }

  /**
   * Puts the batch's vectors (enqueued at once, in issue order). A write that fails leaves the
   * computed vectors with their callers and is reported as an alert: the cache only misses later.
   */
  private store(batch: Waiting[], stored: unknown[]): Promise<void> {
    const options = { namespace: EMBEDDING_NAMESPACE, layer: EMBEDDING_LAYER, type: 'embedding', importance: 0.1 }
    const prepared = batch.map((w, i) => preparePut(this.ctx, w.key, stored[i], options, undefined, undefined, true))
    // In the LRU from now, not from the commit: a hit before the write lands counts as a use.
    for (const put of prepared) this.remember(put.key, put.bytes.byteLength)
    const report = (error: unknown) => {
      if ((error as { code?: string }).code !== 'CLOSED') reportBackgroundError(this.ctx, 'embedding-cache-write-failed', error)
    }
    return enqueuePuts(this.ctx, prepared).then(
      (infos) => {
        for (const info of infos) this.resize(info.key, info.sizeBytes)
        return this.trim().catch(report)
      },
      (error: unknown) => {
        // Never stored: out of the LRU (a trim must not count them, a lookup must not read them).
        for (const put of prepared) this.forget(put.key)
        report(error)
      },
    )
  }

  private remember(key: string, size: number): void {
    // Uses before this one come first, so the LRU stays in true use order.
    if (this.touched.length > 0) this.applyTouches()
    this.bytes += size - (this.lru.get(key) ?? 0)
    setYoungest(this.lru, key, size, Number.POSITIVE_INFINITY)
  }

  /** A stored vector's size as committed, keeping its place in the LRU. */
  private resize(key: string, size: number): void {
    const was = this.lru.get(key)
    if (was === undefined || was === size) return
    this.bytes += size - was
    this.lru.set(key, size)
  }

  private forget(key: string): void {
    this.recent.delete(key)
    const size = this.lru.get(key)
    if (size === undefined) return
    this.lru.delete(key)
    this.bytes -= size
  }

  /**
   * Marks a vector used. The LRU is reordered later, in use order, when the order is needed (a
   * trim) or TOUCHES_HELD uses have gathered: moving a key to the young end of a 10,000-entry
   * Map was a third of a cache hit's cost.
   */
  private touch(key: string): void {
    this.touched.push(key)
    if (this.touched.length >= TOUCHES_HELD) this.applyTouches()
  }

  private applyTouches(): void {
    for (const key of this.touched) {
      const size = this.lru.get(key)
      if (size !== undefined) setYoungest(this.lru, key, size, Number.POSITIVE_INFINITY)
    }
    this.touched = []
  }

  /** Deletes the least recently used vectors beyond maxEntries / maxBytes. */
  private async trim(): Promise<void> {
    this.applyTouches()
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

import { TiermemError } from '../api/errors.ts'
import { isReservedNamespace } from '../api/validate.ts'
import type { PutOptions } from '../api/types.ts'
import { background } from '../api/calls.ts'
import type { EngineContext } from '../engine/engine-context.ts'
import { enqueuePuts, preparePut, setCompanionMaker } from '../engine/put-pipeline.ts'
import type { PreparedPut } from '../engine/put-plan.ts'
import { readMany, readManyNow } from '../engine/read-path.ts'
import { removeEntries } from '../engine/removal.ts'
import { TimeSlices } from '../engine/time-slices.ts'
import { decodeValue, encodeValue, copyBytes } from '../persistence/codec.ts'
import { formatHash, hashBytes, parseHash, type ContentHash } from '../persistence/content-hash.ts'
import { EMBEDDING_LAYER } from './embedding-cache.ts'

/** The namespace entries' vectors live in (reserved: users cannot name it). */
export const VECTOR_NAMESPACE = 'tiermem:vectors'

const encoder = new TextEncoder()

/** What a vector entry holds: the entry it belongs to, and the vector. */
export interface VectorRecord {
  n: string
  k: string
  v: Float32Array
  /** The embedder id that made v (absent for a vector given to put): what re-embedding looks for. */
  m?: string
  /** The text embedded, when put named one (`embed: 'caption'`); else it is the entry's value or value.text. */
  t?: string
}

/**
 * Entries' vectors (`put(..., { embed | vector })`), each stored as an entry of its own beside
 * the entry it belongs to, in the same unit: they land together or not at all, in issue order.
 *
 * A vector's key names its entry (a hash of namespace and key) and the entry's content hash, so
 * a vector is bound to one value of one entry: overwriting the entry without a vector leaves no
 * vector that reads as its, even before the old one is deleted. Vectors whose entry is gone or
 * has another value are deleted after the change that left them behind, and at open.
 */
const installed = new WeakMap<EngineContext, EntryVectors>()

/** The entries' vectors of an engine (installed at open). */
export function entryVectors(ctx: EngineContext): EntryVectors {
  let vectors = installed.get(ctx)
  if (!vectors) installed.set(ctx, (vectors = new EntryVectors(ctx)))
  return vectors
}

export class EntryVectors {
  /**
   * Entry (hash of namespace and key) → its vector entries' keys: the key itself while there is
   * one (as for almost every entry), a Set once there are several. A Set for each was ~12 MB of
   * the heap at 100k vectors (measured in Node at 30k: 5 MB), in every major GC's marking.
   */
  private readonly byEntry = new Map<string, string | Set<string>>()
  private dims: number | undefined
  private unsubscribe: (() => void) | undefined

  constructor(private readonly ctx: EngineContext) {
    const { reg } = ctx
    for (const slot of reg.slots()) if (reg.namespaces[slot] === VECTOR_NAMESPACE) this.note(reg.keys[slot]!)
    setCompanionMaker(ctx, (entry, source) => this.companion(entry, source))
    if (this.byEntry.size > 0) {
      this.watch()
      void background(ctx, 'vector-sweep-failed', () => this.sweepOrphans())
    }
  }

  /**
   * Deletes the vectors a crash or an older session left without their entry's value, found from
   * the registry alone: a vector is current while an entry's (namespace, key) hashes to its key's
   * start and the entry's value to its end. Reading every vector's record to learn its owner (as
   * this once did) read all of them at each open: 150 MB at 100k vectors, and an access counted
   * on each, which the close then journaled (19 MB, measured in Chromium). Runs in the write lane
   * (no entry changes meanwhile), in time slices so reads are answered between them.
   */
  private async sweepOrphans(): Promise<void> {
    const { reg } = this.ctx
    const owners = new Map<string, { n: string; k: string }>()
    const slices = new TimeSlices()
    for (const slot of [...reg.slots()]) {
      await slices.pace()
      if (this.ctx.closing) return
      const namespace = reg.namespaces[slot]!
      if (isReservedNamespace(namespace)) continue
      const entry = entryKey(namespace, reg.keys[slot]!)
      if (this.byEntry.has(entry)) owners.set(entry, { n: namespace, k: reg.keys[slot]! })
    }
    const stale = [...this.byEntry.keys()].flatMap((entry) => this.staleOf(entry, owners.get(entry)))
    if (stale.length > 0) await removeEntries(this.ctx, stale, 'orphaned')
  }

  /**
   * Follows puts and deletes from the first vector on: before that, puts nobody watches cost
   * the change feed nothing (change-feed.ts), and a memory without vectors pays nothing here.
   */
  watch(): void {
    this.unsubscribe ??= this.ctx.feed.subscribe(
      (change) => {
        if (change.kind !== 'put' && change.kind !== 'delete') return
        if (change.namespace === VECTOR_NAMESPACE) {
          if (change.kind === 'put') this.note(change.key)
          else this.drop(change.key)
        } else if (!isReservedNamespace(change.namespace) && (change.kind === 'delete' || change.replaced)) {
          this.sweepLater(entryKey(change.namespace, change.key), { n: change.namespace, k: change.key })
        }
      },
      ['put', 'delete'],
    )
  }

  /** The vector stored with the entry's current value, or undefined. */
  async vectorOf(namespace: string, key: string): Promise<Float32Array | undefined> {
    const slot = this.ctx.reg.find(namespace, key)
    if (slot < 0) return undefined
    const [record] = await readMany(this.ctx, VECTOR_NAMESPACE, [vectorKey(namespace, key, this.entryHashAt(slot))])
    const found = record as VectorRecord | undefined
    return found && found.n === namespace && found.k === key ? found.v : undefined
  }

  /** The put of an entry's vector, made at the entry's put: now for a given vector, once embedded for text. */
  private companion(entry: PreparedPut, source: { embed: PutOptions['embed']; vector: PutOptions['vector'] }): PreparedPut {
    const { ctx } = this
    this.watch()
    const expected = ctx.embeddings?.dims ?? this.dims
    const key = vectorKey(entry.namespace, entry.key, formatHashOf(entry.bytes))
    const options = { namespace: VECTOR_NAMESPACE, layer: EMBEDDING_LAYER, type: 'vector', evictable: false, durable: entry.options.durable ?? true }
    const fill = (put: PreparedPut, vector: Float32Array, made?: { m: string; t: string | undefined }) => {
      const record: VectorRecord = {
        n: entry.namespace,
        k: entry.key,
        v: vector,
        ...(made?.m ? { m: made.m } : {}),
        ...(made?.t !== undefined ? { t: made.t } : {}),
      }
      put.value = record
      put.bytes = copyBytes(encodeValue(record))
    }
    if (source.vector !== undefined) {
      checkDims(source.vector.length, expected)
      this.dims ??= source.vector.length
      const put = preparePut(ctx, key, null, options, undefined, undefined, true)
      put.alone = true
      fill(put, source.vector.slice())
      return put
    }
    const text = textToEmbed(source.embed!, entry)
    if (!ctx.embeddings) {
      throw new TiermemError('EMBEDDER_MISSING', 'put with embed needs an embedder: open the memory with { embeddings: { embedder } }, or pass { vector }')
    }
    const put = preparePut(ctx, key, null, options, undefined, undefined, true)
    put.alone = true
    // Computed from now; the put's group waits for it and keeps its place in issue order.
    const made = { m: ctx.embeddings.embedderId, t: typeof source.embed === 'string' ? source.embed : undefined }
    put.ready = ctx.embeddings.embed([text]).then(([vector]) => fill(put, vector!, made))
    // A putMany refused before it was queued never awaits this: its failure is the put's, never unhandled.
    put.ready.catch(() => undefined)
    return put
  }

  /**
   * Re-embeds vector entries made by another embedder with this memory's, each from the text it
   * was made from (its record's, or the entry's value). A vector whose entry has changed or gone
   * since is left to the sweep. Resolves to the number rewritten.
   */
  async reembed(vectorKeys: readonly string[]): Promise<number> {
    const { ctx } = this
    const cache = ctx.embeddings
    if (!cache || vectorKeys.length === 0) return 0
    const records = (await readManyNow(ctx, VECTOR_NAMESPACE, vectorKeys, decodeValue, false, true)) as Array<VectorRecord | undefined>
    const jobs: Array<{ key: string; record: VectorRecord; text: string }> = []
    for (let i = 0; i < vectorKeys.length; i++) {
      const record = records[i]
      if (!record) continue
      const slot = ctx.reg.find(record.n, record.k)
      if (slot < 0 || vectorKeys[i] !== vectorKey(record.n, record.k, this.entryHashAt(slot))) continue
      let text = record.t
      if (text === undefined) {
        const [value] = await readManyNow(ctx, record.n, [record.k], decodeValue, false)
        const found = typeof value === 'string' ? value : (value as { text?: unknown } | null | undefined)?.text
        if (typeof found !== 'string') continue
        text = found
      }
      jobs.push({ key: vectorKeys[i]!, record, text })
    }
    if (jobs.length === 0) return 0
    const vectors = await cache.embed(jobs.map((j) => j.text))
    const options = { namespace: VECTOR_NAMESPACE, layer: EMBEDDING_LAYER, type: 'vector', evictable: false }
    const puts = jobs.map(({ key, record }, i) => {
      const next: VectorRecord = { ...record, v: vectors[i]!, m: cache.embedderId }
      const put = preparePut(ctx, key, next, options, undefined, undefined, true)
      put.alone = true
      return put
    })
    await enqueuePuts(ctx, puts)
    return puts.length
  }

  private entryHashAt(slot: number): string {
    const { reg } = this.ctx
    return formatHash(reg.hashHi[slot]!, reg.hashLo[slot]!)
  }

  private note(vectorEntryKey: string): void {
    const entry = vectorEntryKey.slice(0, vectorEntryKey.indexOf('.'))
    const held = this.byEntry.get(entry)
    if (held === undefined) this.byEntry.set(entry, vectorEntryKey)
    else if (typeof held !== 'string') held.add(vectorEntryKey)
    else if (held !== vectorEntryKey) this.byEntry.set(entry, new Set([held, vectorEntryKey]))
  }

  private drop(vectorEntryKey: string): void {
    const entry = vectorEntryKey.slice(0, vectorEntryKey.indexOf('.'))
    const held = this.byEntry.get(entry)
    if (held === undefined) return
    if (typeof held === 'string') {
      if (held === vectorEntryKey) this.byEntry.delete(entry)
      return
    }
    held.delete(vectorEntryKey)
    if (held.size === 1) this.byEntry.set(entry, held.values().next().value!)
    else if (held.size === 0) this.byEntry.delete(entry)
  }

  /** An entry's vector entries' keys. */
  private vectorKeysOf(entry: string): readonly string[] {
    const held = this.byEntry.get(entry)
    return held === undefined ? [] : typeof held === 'string' ? [held] : [...held]
  }

  /** Queues the deletion of an entry's vectors that are not its current value's (after the change that left them). */
  private sweepLater(entry: string, owner: { n: string; k: string }): void {
    if (!this.byEntry.has(entry)) return
    void background(this.ctx, 'vector-sweep-failed', async () => {
      const stale = this.staleOf(entry, owner)
      if (stale.length > 0) await removeEntries(this.ctx, stale, 'orphaned')
    })
  }

  /** The registry slots of an entry's vectors that are not its current value's (all of them once the entry is gone). */
  private staleOf(entry: string, owner: { n: string; k: string } | undefined): number[] {
    const { reg } = this.ctx
    const slot = owner ? reg.find(owner.n, owner.k) : -1
    const current = slot >= 0 ? `${entry}.${this.entryHashAt(slot)}` : undefined
    return this.vectorKeysOf(entry).flatMap((key) => {
      const vector = key === current ? -1 : reg.find(VECTOR_NAMESPACE, key)
      return vector >= 0 ? [vector] : []
    })
  }
}

/** The text `embed` names: itself when a string; for `true`, a string value or the value's `text`. */
function textToEmbed(embed: boolean | string, entry: PreparedPut): string {
  if (typeof embed === 'string') return embed
  // The worker's puts arrive encoded: their value is read back from the bytes.
  const value = entry.value === undefined ? decodeValue(entry.bytes) : entry.value
  const text = typeof value === 'string' ? value : (value as { text?: unknown } | null)?.text
  if (typeof text !== 'string') {
    throw new TiermemError('INVALID_OPTION', `embed: true needs a string value or a value with a string 'text'; pass the text to embed as embed: '…'`)
  }
  return text
}

function checkDims(length: number, expected: number | undefined): void {
  if (expected !== undefined && length !== expected) {
    throw new TiermemError('DIMENSION_MISMATCH', `the vector has ${length} dimensions; this memory's vectors have ${expected}`)
  }
}

/** A hash of (namespace, key), 16 hex digits: vector keys stay short whatever the entry's key. */
function entryKey(namespace: string, key: string): string {
  const { hi, lo } = hashBytes(encoder.encode(`${namespace}\u0000${key}`))
  return formatHash(hi, lo)
}

function vectorKey(namespace: string, key: string, entryHash: string): string {
  return `${entryKey(namespace, key)}.${entryHash}`
}

/** The content hash of the value a vector key's vector was made for (vectorKey's end), or undefined for a damaged key. */
export function madeForHash(vectorEntryKey: string): ContentHash | undefined {
  const dot = vectorEntryKey.lastIndexOf('.')
  return dot < 0 ? undefined : parseHash(vectorEntryKey.slice(dot + 1))
}

function formatHashOf(bytes: Uint8Array): string {
  const { hi, lo } = hashBytes(bytes)
  return formatHash(hi, lo)
}

import { TiermemError } from '../api/errors.ts'
import type { RecallHit, RecallOptions } from '../api/types.ts'
import { entryVectors, madeForHash, VECTOR_NAMESPACE, type VectorRecord } from '../embeddings/entry-vectors.ts'
import { EMBEDDING_LAYER } from '../embeddings/embedding-cache.ts'
import type { EngineContext } from '../engine/engine-context.ts'
import { enqueuePuts, preparePut } from '../engine/put-pipeline.ts'
import { readManyNow } from '../engine/read-path.ts'
import { decodeValue } from '../persistence/codec.ts'
import { toEntryInfo } from '../registry/entry-record.ts'
import { FREE, HOT, TIER_NAMES } from '../registry/registry.ts'
import { DEFAULT_HNSW, HnswGraph, normalised, normalisedInto, quantise, type CodeResidence, type HnswParams } from './hnsw-graph.ts'
import { CodeRecords } from './code-records.ts'
import { queryStep } from './code-space.ts'
import { grownArray } from '../engine/grown-array.ts'
import { copyKeyHash, VectorCopies, type VectorUse } from './vector-copies.ts'
import type { RecordFiles } from '../store/record-file.ts'
import { reportBackgroundError } from '../engine/engine-context.ts'
import { cutPage, HEAD_KEY, headOf, INDEX_NAMESPACE, isIndexHead, joinPages, PAGE_NODES, pageKey } from './index-pages.ts'

/** Vector records read per step when catching up with new vectors. */
const CATCH_UP_CHUNK = 256
/** Candidates re-ranked on their Float32 vectors, beyond k. */
const RERANK_EXTRA = 10
/** Vectors re-embedded per step (one embedder batch). */
const REEMBED_CHUNK = 32
/** Pages read per step at open. */
const LOAD_CHUNK = 64

const installed = new WeakMap<EngineContext, VectorIndex>()

/** The vector index of an engine (made and loaded at open, open-engine.ts). */
export function vectorIndex(ctx: EngineContext): VectorIndex {
  const index = installed.get(ctx)
  if (!index) throw new TiermemError('CLOSED', 'this memory has no vector index (it did not finish opening)')
  return index
}

/** Makes an engine's vector index and loads what was saved. */
export async function openVectorIndex(
  ctx: EngineContext,
  params?: Partial<HnswParams> & { maxResidentBytes?: number },
  records?: RecordFiles,
): Promise<VectorIndex> {
  const index = new VectorIndex(ctx, params, records)
  installed.set(ctx, index)
  await index.load()
  return index
}

/**
 * The index recall searches: an HNSW graph (hnsw-graph.ts) over every entry's vector in
 * `tiermem:vectors`, kept exact by the change feed and saved in pages (index-pages.ts).
 *
 * - New vectors are queued at commit and put into the graph in the background, or by the next
 *   recall before it searches: a put's commit never waits for a graph insert (~1 ms at 384
 *   dimensions), and a recall never misses a committed vector.
 * - A node stands for one vector entry, which stands for one value of one entry (its key names
 *   the entry's content hash). Whether a node may be a result is decided during the walk, from
 *   the registry as it is then: the entry exists, has not expired, still has that value, and
 *   passes the filters. So a deleted, overwritten or expired entry leaves recall at once.
 * - Saved on flush(), close() and every SAVE_EVERY_MS with changes: only changed pages, with
 *   the head, in one unit. At open the saved graph is loaded (no rebuild) and reconciled with the
 *   vector entries that exist: ones it lacks are inserted, ones gone are deleted. A crash between
 *   saves therefore costs only re-inserting what changed since the last save.
 */
export class VectorIndex {
  private graph: HnswGraph | undefined
  /** Node → its vector entry's key, and the entry (namespace, key) the vector belongs to. */
  private nodeKeys: string[] = []
  private nodeNamespaces: string[] = []
  private nodeEntries: string[] = []
  /** The embedder id that made each node's vector ('' for one given to put). */
  private nodeModels: string[] = []
  private readonly byKey = new Map<string, number>()
  /** Per node: the registry slot its entry had when last checked (-1: none), and that slot's generation then (ownerSlot). */
  private owners = new Int32Array(0)
  private ownerGens = new Uint32Array(0)
  /** Per node, the content hash (hi, lo) of the value its vector was made for, read once from its key's end (madeFor). */
  private madeHi = new Uint32Array(0)
  private madeLo = new Uint32Array(0)
  /** Per node, its vector key's hash as its Float32 copy names it (copyKeyHash), made once (madeFor). */
  private copyKeys = new Uint32Array(0)
  /** The k-th best lower bound of worthReading, in room kept between recalls. */
  private bounds = new Float64Array(32)
  /**
   * Unit queries of finished recalls, for the next: one per recall in flight at most. A
   * Float32Array is an ArrayBuffer of its own, ~8 µs to make in Chromium, and memory outside the
   * heap that only a collection gives back. A recall made two (with the caller's copy).
   */
  private readonly units: Float32Array[] = []
  /** Vector entries committed and not yet in the graph, in commit order. */
  private readonly pending = new Set<string>()
  /** Vector entries another embedder made, to re-embed with this memory's (reembed()). */
  private readonly stale = new Set<string>()
  private reembedding = false
  /** Recalls between their walk and their last read (search): deleted nodes' places wait for them to end. */
  private searches = 0
  private catchingUp: Promise<void> | undefined
  private readonly dirtyPages = new Set<number>()
  private saving: Promise<void> | undefined
  private readonly params: HnswParams
  /** Bytes of int8 codes the graph may keep in memory (the rest are read again from the vectors); undefined: all. */
  private readonly maxCodeBytes: number | undefined

  /** Float32 copies of the vectors for re-ranking, where the stores offer record files. */
  private readonly copies: VectorCopies
  /** The codes a paged graph reads back, where the stores offer record files. */
  private readonly codes: CodeRecords

  constructor(
    private readonly ctx: EngineContext,
    { maxResidentBytes, ...params }: Partial<HnswParams> & { maxResidentBytes?: number } = {},
    records?: RecordFiles,
  ) {
    this.params = { ...DEFAULT_HNSW, ...params }
    this.maxCodeBytes = maxResidentBytes === Number.POSITIVE_INFINITY ? undefined : maxResidentBytes
    this.copies = new VectorCopies(records)
    this.codes = new CodeRecords(records)
    ctx.heldRelief = { relieve: (bytes) => this.relieve(bytes), room: (bytes) => this.room(bytes) }
    ctx.feed.subscribe(
      (change) => {
        if (change.namespace === VECTOR_NAMESPACE) {
          if (change.kind === 'put') {
            // A vector entry written again (re-embedded by another model): its node goes, a new one comes.
            if (change.replaced) this.removed(change.key)
            this.added(change.key)
          } else if (change.kind === 'delete') this.removed(change.key)
        } else if (change.namespace === INDEX_NAMESPACE && change.kind === 'delete' && this.saving === undefined) {
          // Saved pages deleted by someone else (clear()): the next save writes every page.
          this.markAllDirty()
        }
      },
      ['put', 'delete'],
    )
  }

  /** Loads the saved graph and reconciles it with the vector entries there are (open-engine). */
  async load(): Promise<void> {
    const { reg } = this.ctx
    // A head that cannot be read (damaged) is no head: the index is rebuilt from the vectors, the memory opens.
    const [head] = await readManyNow(this.ctx, INDEX_NAMESPACE, [HEAD_KEY], decodeValue, false).catch(() => [undefined])
    // A graph of another width than this memory's embedder is of an older model: rebuilt as its vectors are re-embedded.
    if (isIndexHead(head, this.ctx.embeddings?.dims)) {
      const pages: unknown[] = []
      for (let p = 0; p < head.pages; p += LOAD_CHUNK) {
        const keys = Array.from({ length: Math.min(LOAD_CHUNK, head.pages - p) }, (_, i) => pageKey(p + i))
        pages.push(...(await readManyNow(this.ctx, INDEX_NAMESPACE, keys, decodeValue, false).catch(() => keys.map(() => undefined))))
      }
      const joined = joinPages(head, pages)
      if (joined) {
        if (this.paged) {
          await this.codes.open(head.dims)
          const { codes, dims, count } = joined.state
          for (let node = 0; node < count; node++) this.codes.note(node, codes.subarray(node * dims, (node + 1) * dims), false)
        }
        this.adopt(HnswGraph.restore(joined.state, this.residence(head.dims)))
        this.nodeKeys = joined.keys
        this.nodeNamespaces = joined.namespaces
        this.nodeEntries = joined.entries
        this.nodeModels = joined.models
        joined.keys.forEach((key, node) => {
          this.madeFor(node, key)
          if (this.graph!.deleted[node]) return
          this.byKey.set(key, node)
          // Each node's owner found now (~0.6 µs a node): found during walks, it was a third of a recall's time over nodes not yet visited.
          this.ownerSlot(node)
        })
        await this.copies.open(head.dims)
        this.countHeld()
        joined.models.forEach((model, node) => {
          if (!this.graph!.deleted[node]) this.noteModel(joined.keys[node]!, model)
        })
      }
    }
    // Reconcile: nodes whose vector entry is gone are deleted; vector entries the graph lacks are queued.
    // forEach, not a copy of the entries: [key, node] pairs for every node were most of a reopen's garbage here (measured in Node).
    this.byKey.forEach((node, key) => {
      if (reg.find(VECTOR_NAMESPACE, key) < 0) this.removeNode(key, node)
    })
    for (const slot of reg.slots()) {
      if (reg.namespaces[slot] === VECTOR_NAMESPACE && !this.byKey.has(reg.keys[slot]!)) this.pending.add(reg.keys[slot]!)
    }
    this.scheduleCatchUp()
  }

  get dims(): number | undefined {
    return this.graph?.dims
  }

  stats(): { vectors: number; residentVectors: number; bytes: number; pending: number; stale: number } {
    const live = this.graph?.live ?? 0
    return {
      vectors: live + this.pending.size,
      residentVectors: this.graph?.residentLive ?? 0,
      bytes: this.graph?.residentBytes ?? 0,
      pending: this.pending.size,
      stale: this.stale.size,
    }
  }

  /**
   * The best entries for a unit-or-not query vector. Call in issue order (the caller runs it in
   * the write lane when writes are pending): it first puts every committed vector in the graph.
   */
  async search(query: Float32Array, options: RecallOptions): Promise<RecallHit[]> {
    // Nothing to catch up with: the walk runs now, in the caller's turn (the issue point).
    if (this.pending.size > 0) await this.catchUp()
    const graph = this.graph
    const k = options.k ?? 10
    if (!graph || k === 0) return []
    if (query.length !== graph.dims) {
      throw new TiermemError('DIMENSION_MISMATCH', `the query has ${query.length} dimensions; this memory's vectors have ${graph.dims}`)
    }
    // From the walk to the last read of its candidates' vectors, no deleted node's place is
    // taken: a node the walk found keeps its names, so a hit is never an entry put after it.
    this.searches++
    // The unit query, made now (the caller's array may change once this returns), once for the
    // walk and the re-rank, in an array a finished recall left (units).
    const spare = this.units.pop()
    const unit = normalisedInto(query, spare?.length === query.length ? spare : new Float32Array(query.length))
    try {
      return await this.searching(graph, unit, options, k)
    } finally {
      this.searches--
      this.units.push(unit)
    }
  }

  private async searching(graph: HnswGraph, unit: Float32Array, options: RecallOptions, k: number): Promise<RecallHit[]> {
    const accept = this.acceptor(options)
    const ef = Math.max(options.efSearch ?? this.params.efSearch, k + RERANK_EXTRA)
    // With every code in memory the walk runs to its end in this turn (the issue point); paged, recall runs in the write lane.
    // The best k + RERANK_EXTRA are all re-ranking reads: only those are taken from the walk.
    let { found, exhausted } = await graph.search(unit, ef, accept, Math.max(4 * ef * graph.params.m, 2_000), k + RERANK_EXTRA)
    // Too few taken by a filter for the walk to reach k of them: every node, scored on its code.
    if (found.length < k && (exhausted || found.length < graph.live)) found = await graph.scan(unit, ef, accept)
    const hits = await this.rerank(unit, this.worthReading(graph, unit, found.slice(0, k + RERANK_EXTRA), k), k, options.minScore ?? Number.NEGATIVE_INFINITY)
    // Codes a walk had to make again from their vectors are written for the next one.
    void this.flushCodes()
    return hits
  }

  /** Puts the vectors committed so far in the graph, then writes the changed pages and the head, in one unit. */
  async save(): Promise<void> {
    await this.catchUp()
    await this.flushCodes()
    if (this.saving) return this.saving.then(() => this.save())
    const graph = this.graph
    if (!graph || this.dirtyPages.size === 0) return Promise.resolve()
    let pages: number[] = []
    const options = { namespace: INDEX_NAMESPACE, layer: EMBEDDING_LAYER, type: 'index', tier: 'warm' as const, evictable: false, importance: 0.1 }
    const names = { keys: this.nodeKeys, namespaces: this.nodeNamespaces, entries: this.nodeEntries, models: this.nodeModels }
    const range = (p: number, count: number) => [p * PAGE_NODES, Math.min(count, (p + 1) * PAGE_NODES)] as const
    // The pages chosen, their codes read and the head cut in one go on the graph: no insert lands between.
    const cut = new Promise<Parameters<typeof enqueuePuts>[1]>((resolve) =>
      resolve(
        graph.read(
          ({ count }) => {
            pages = [...this.dirtyPages].filter((p) => p * PAGE_NODES < count)
            this.dirtyPages.clear()
            return pages.map((p) => range(p, count))
          },
          (shape, codes) => [
            preparePut(this.ctx, HEAD_KEY, headOf(shape), options, undefined, undefined, true),
            ...pages.map((p, i) => preparePut(this.ctx, pageKey(p), cutPage(shape, names, p, codes[i]!), options, undefined, undefined, true)),
          ],
        ),
      ),
    )
    this.saving = cut
      .then((puts) => enqueuePuts(this.ctx, puts))
      .then(
        () => {
          this.saving = undefined
        },
        (error: unknown) => {
          // Not saved: those pages are still to write.
          for (const p of pages) this.dirtyPages.add(p)
          this.saving = undefined
          throw error
        },
      )
    return this.saving
  }

  /** Whether committed vectors wait to be put in the graph. */
  get behind(): boolean {
    return this.pending.size > 0
  }

  get unsaved(): boolean {
    return this.dirtyPages.size > 0
  }

  private added(key: string): void {
    if (this.byKey.has(key)) return
    this.pending.add(key)
    this.scheduleCatchUp()
  }

  private removed(key: string): void {
    this.stale.delete(key)
    if (this.pending.delete(key)) return
    const node = this.byKey.get(key)
    if (node !== undefined) this.removeNode(key, node)
  }

  /** Marks a vector made by another embedder than this memory's as stale, and starts re-embedding. */
  private noteModel(key: string, model: string): void {
    const current = this.ctx.embeddings?.embedderId
    if (!current || model === '' || model === current) return
    this.stale.add(key)
    if (!this.reembedding) {
      this.reembedding = true
      this.ctx.timers.after(0, () => void this.reembedStale())
    }
  }

  /**
   * Re-embeds stale vectors in chunks, off the write lane (its puts take their place in it), with
   * a `reembedded` event after each. Stops at close; what is left is found again at the next open.
   */
  private async reembedStale(): Promise<void> {
    const model = this.ctx.embeddings!.embedderId
    let done = 0
    try {
      while (this.stale.size > 0 && !this.ctx.closing) {
        const keys = [...this.stale].slice(0, REEMBED_CHUNK)
        const rewritten = await entryVectors(this.ctx).reembed(keys)
        // Whatever could not be re-embedded (its entry changed, no text) is no longer waited for.
        for (const key of keys) this.stale.delete(key)
        done += rewritten
        this.ctx.events.emit('reembedded', { done, remaining: this.stale.size, model })
      }
    } catch (error) {
      if ((error as { code?: string }).code !== 'CLOSED') reportBackgroundError(this.ctx, 'reembed-failed', error)
    } finally {
      this.reembedding = false
    }
  }

  private removeNode(key: string, node: number): void {
    this.byKey.delete(key)
    this.graph?.remove(node)
  }

  private scheduleCatchUp(): void {
    if (this.pending.size === 0 || this.catchingUp) return
    this.ctx.timers.after(0, () => void this.catchUp().catch(() => undefined))
  }

  /** Puts every queued vector in the graph (one run at a time; a recall waits for it). */
  async catchUp(): Promise<void> {
    while (this.pending.size > 0) {
      this.catchingUp ??= this.insertPending().finally(() => (this.catchingUp = undefined))
      await this.catchingUp
    }
  }

  private async insertPending(): Promise<void> {
    const keys = [...this.pending].slice(0, CATCH_UP_CHUNK)
    const records = (await readManyNow(this.ctx, VECTOR_NAMESPACE, keys, decodeValue, false, true)) as Array<VectorRecord | undefined>
    const first = records.find((r) => r?.v instanceof Float32Array)
    if (first && !this.graph) {
      const dims = this.ctx.embeddings?.dims ?? first.v.length
      await this.copies.open(dims)
      if (this.paged) await this.codes.open(dims)
    }
    const copies: Array<{ node: number; vector: Float32Array; vectorKey: string }> = []
    for (const [i, key] of keys.entries()) {
      // Deleted while it was read: nothing to insert.
      if (!this.pending.delete(key)) continue
      const record = records[i]
      if (!record || !(record.v instanceof Float32Array)) continue
      // The embedder's width where there is one: vectors of an older model may have another.
      const dims = this.ctx.embeddings?.dims ?? record.v.length
      this.graph ??= this.adopt(new HnswGraph(dims, this.params, undefined, this.residence(dims)))
      if (record.v.length !== this.graph.dims) {
        // Not searchable as it is; if another model made it, re-embedding brings it back.
        this.noteModel(key, record.m ?? '')
        continue
      }
      // Its names first: a paged insert may read this node's vector again by its key. A deleted
      // node's place may be taken: what was known of its owner goes with it.
      const place = this.searches === 0 ? this.graph.takeFree() : undefined
      const node = place ?? this.graph.count
      if (node < this.owners.length) this.owners[node] = -1
      this.nodeKeys[node] = key
      this.madeFor(node, key)
      this.nodeNamespaces[node] = record.n
      this.nodeEntries[node] = record.k
      this.nodeModels[node] = record.m ?? ''
      await this.graph.insert(record.v, place)
      this.noteModel(key, record.m ?? '')
      this.byKey.set(key, node)
      this.ownerSlot(node)
      copies.push({ node, vector: record.v, vectorKey: key })
    }
    this.countHeld()
    // Not written is not lost: re-ranking reads the entries of nodes without a good copy.
    await this.copies.write(copies).catch((error: unknown) => reportBackgroundError(this.ctx, 'vector-copies-write-failed', error))
    await this.flushCodes()
  }

  /** Saves what changed, and closes the record files (close()). */
  async close(): Promise<void> {
    await this.save()
    await this.copies.close()
    await this.codes.close()
  }

  /** Writes the codes made since the last flush; one not written is made again from its vector when needed. */
  private flushCodes(): Promise<void> {
    return this.codes.flush().catch((error: unknown) => reportBackgroundError(this.ctx, 'index-codes-write-failed', error))
  }

  /** The graph's bytes, in the hot budget (hotUsage): entries make room for it. */
  private countHeld(): void {
    this.ctx.heldBytes = this.graph?.residentBytes ?? 0
  }

  /** Where a new or loaded graph keeps its codes: all in memory, or at most maxResidentBytes of them, the rest read from the vectors. */
  private residence(dims: number): CodeResidence {
    const source = (nodes: readonly number[]) => this.codesOf(nodes, dims)
    const limit = this.maxCodes(dims)
    return limit === undefined ? { source } : { limit, source }
  }

  /** The codes `maxResidentBytes` holds at this width; undefined without it. */
  private maxCodes(dims: number): number | undefined {
    return this.maxCodeBytes === undefined ? undefined : Math.floor(this.maxCodeBytes / dims)
  }

  /** Codes a paged graph reads back: from their records, else made again from the vectors (and noted to write). */
  private async codesOf(nodes: readonly number[], dims: number): Promise<Array<Int8Array | undefined>> {
    // A read that fails leaves codes missing, never the walk: such a node scores 0 until its code is read (and re-ranking skips a vector it cannot read).
    const failed = (error: unknown) => {
      reportBackgroundError(this.ctx, 'index-codes-read-failed', error)
      return undefined
    }
    const codes = (await this.codes.read(nodes).catch(failed)) ?? nodes.map(() => undefined)
    const missing = nodes.flatMap((_, i) => (codes[i] ? [] : [i]))
    if (missing.length === 0) return codes
    const made: VectorUse = (j, data, at, length) => {
      if (length !== dims) return
      const i = missing[j]!
      const code = new Int8Array(dims)
      quantise(normalised(data.subarray(at, at + length)), code)
      codes[i] = code
      this.codes.note(nodes[i]!, code, true)
    }
    await this.eachVector(
      missing.map((i) => nodes[i]!),
      made,
    ).catch(failed)
    return codes
  }

  /** Whether the graph reads codes from storage during a walk (recall then runs in the write lane, in issue order). */
  get paged(): boolean {
    return this.maxCodeBytes !== undefined || this.graph?.codesBounded === true
  }

  /**
   * Pages out codes until the graph holds `bytes` fewer (pressure, pressure-controller.ts).
   * Every code in memory is written to its record first, where the stores keep record files, so
   * a walk reads codes back rather than making them again from the vectors. Nothing changes
   * when only the links are left (they stay in memory), or when the codes cannot be written
   * (reported; the next pressure round tries again).
   */
  async relieve(bytes: number): Promise<void> {
    const graph = this.graph
    if (!graph || bytes <= 0) return
    const dims = graph.dims
    // Never fewer than one insert needs; nothing to free (only links left, or slots not yet used): it stays as it is.
    const limit = Math.max(Math.floor((graph.codeBytes - bytes) / dims), graph.minCodes)
    if (limit * dims >= graph.codeBytes) return
    try {
      await this.codes.open(dims)
      await graph.limitCodes(limit, (nodes, codes) => this.codes.keep(nodes, codes))
    } catch (error) {
      reportBackgroundError(this.ctx, 'index-codes-write-failed', error)
      return
    }
    this.countHeld()
  }

  /**
   * Lets a graph paged by pressure keep `bytes` more codes than it holds now (pressure back to
   * normal), never more than `maxResidentBytes`: they come back as walks reach them. Counted
   * from the codes in memory, not from the limit: room given before and not yet filled is not
   * given twice.
   */
  room(bytes: number): void {
    const graph = this.graph
    if (!graph?.codesBounded || bytes < graph.dims) return
    const limit = Math.min(this.maxCodes(graph.dims) ?? Number.MAX_SAFE_INTEGER, graph.codesResident + Math.floor(bytes / graph.dims))
    if (limit > graph.codeLimit) graph.raiseCodes(limit).catch((error: unknown) => reportBackgroundError(this.ctx, 'index-room-failed', error))
  }

  private adopt(graph: HnswGraph): HnswGraph {
    this.graph = graph
    graph.onChange = (node) => this.dirtyPages.add(Math.floor(node / PAGE_NODES))
    // Noted only once the codes have a file (paged at open, or by pressure): until then there is nothing to write them to.
    graph.onCode = (node, code) => this.codes.note(node, code, true)
    return graph
  }

  private markAllDirty(): void {
    const count = this.graph?.count ?? 0
    for (let p = 0; p * PAGE_NODES < count; p++) this.dirtyPages.add(p)
  }

  /** Whether a node may be a result now: its entry exists, is live, still has this vector's value, and passes the filters. */
  private acceptor(options: RecallOptions): (node: number) => boolean {
    const { reg } = this.ctx
    const now = this.ctx.clock.now()
    const typeId = options.type === undefined ? undefined : reg.typeNames.lookup(options.type)
    const layerId = options.layer === undefined ? undefined : reg.layerNames.lookup(options.layer)
    if ((options.type !== undefined && typeId === undefined) || (options.layer !== undefined && layerId === undefined)) return () => false
    const tier = options.tier === undefined ? undefined : TIER_NAMES.indexOf(options.tier)
    return (node) => {
      const slot = this.ownerSlot(node)
      if (slot < 0) return false
      if (options.namespace !== undefined && this.nodeNamespaces[node] !== options.namespace) return false
      if (reg.expiresAt[slot]! <= now) return false
      if (typeId !== undefined && reg.type[slot] !== typeId) return false
      if (layerId !== undefined && reg.layer[slot] !== layerId) return false
      if (tier !== undefined && reg.tier[slot] !== tier) return false
      return true
    }
  }

  /**
   * The registry slot of the entry a node's vector belongs to, while it still holds the value
   * the vector was made for; else -1. Asked for every node a walk takes in, so the answer is kept
   * with the slot's generation: any change of the entry (overwrite, move, delete) bumps it, and
   * only then is the entry looked up and its hash compared again, as numbers (formatting the
   * hash to compare it with the key took ~1 µs a node, most of a first walk over new nodes).
   */
  private ownerSlot(node: number): number {
    const { reg } = this.ctx
    if (node >= this.owners.length) {
      const size = Math.max(node + 1, this.owners.length * 2)
      this.owners = grownArray(this.owners, size, -1)
      this.ownerGens = grownArray(this.ownerGens, size)
    }
    const known = this.owners[node]!
    if (known >= 0 && reg.gen[known] === this.ownerGens[node] && reg.tier[known] !== FREE) return known
    const slot = reg.find(this.nodeNamespaces[node]!, this.nodeEntries[node]!)
    const owns = slot >= 0 && reg.hashHi[slot] === this.madeHi[node] && reg.hashLo[slot] === this.madeLo[node]
    this.owners[node] = owns ? slot : -1
    if (owns) this.ownerGens[node] = reg.gen[slot]!
    return owns ? slot : -1
  }

  /**
   * Notes the content hash a node's vector key ends with (entry-vectors' madeForHash). A key
   * without one (damaged) is noted as (0, 1), a hash no entry has in
   * practice: the node is then never a result.
   */
  private madeFor(node: number, key: string): void {
    if (node >= this.madeHi.length) {
      const size = Math.max(node + 1, this.madeHi.length * 2)
      this.madeHi = grownArray(this.madeHi, size)
      this.madeLo = grownArray(this.madeLo, size)
      this.copyKeys = grownArray(this.copyKeys, size)
    }
    const hash = madeForHash(key)
    this.madeHi[node] = hash ? hash.hi : 0
    this.madeLo[node] = hash ? hash.lo : 1
    this.copyKeys[node] = copyKeyHash(key)
  }

  /**
   * The candidates that may be among the best k once scored exactly. A code's score is off the
   * exact cosine by its rounding, scale / 2 × ‖q‖₁ (each component at most half a step), plus
   * the query's, step / 2 × ‖code‖₁ × scale ≤ step / 2 × √dims × (1 + scale × √dims / 2)
   * (code-space.ts). A candidate whose best possible score is below the k-th best worst
   * possible one cannot make it: its vector is not read. q is the unit query.
   */
  private worthReading(graph: HnswGraph, q: Float32Array, found: Array<{ node: number; sim: number }>, k: number): Array<{ node: number }> {
    if (found.length <= k) return found
    // Summed in a function of its own: a sum the closure below captured would box every partial sum (~6 KB a recall).
    const l1 = l1Norm(q)
    const root = Math.sqrt(q.length)
    const step = queryStep(q)
    // A little more for float rounding in the products.
    const error = (node: number) => {
      const scale = graph.scales[node]!
      return 0.5 * scale * l1 + 0.5 * step * root * (1 + 0.5 * scale * root) + 1e-6
    }
    // The k-th best lower bound, sorted in room kept (a typed array sorts numbers without boxing them).
    if (this.bounds.length < found.length) this.bounds = new Float64Array(2 * found.length)
    const bounds = this.bounds.subarray(0, found.length)
    found.forEach((c, i) => (bounds[i] = c.sim - error(c.node)))
    const lowest = bounds.sort()[found.length - k]!
    return found.filter((c) => c.sim + error(c.node) >= lowest)
  }

  /**
   * Calls `use` with the Float32 vector of each node that has one: from its hot entry (decoded,
   * in memory), else from its copy where that checks out (a sync OPFS read each), else from its
   * entry in whichever tier holds it. A vector is only good during the call (a copy is in a
   * buffer the next read reuses).
   */
  private async eachVector(nodes: readonly number[], use: VectorUse): Promise<void> {
    const { reg } = this.ctx
    // A plain array: a typed one is a backing store to allocate and sweep, for a few dozen flags.
    const done: boolean[] = new Array<boolean>(nodes.length).fill(false)
    const take: VectorUse = (i, data, at, length) => {
      done[i] = true
      use(i, data, at, length)
    }
    // Loops, not flatMap: that made an array per node, most of this step's garbage.
    const hot: number[] = []
    for (let i = 0; i < nodes.length; i++) {
      const slot = reg.find(VECTOR_NAMESPACE, this.nodeKeys[nodes[i]!]!)
      if (slot >= 0 && reg.tier[slot] === HOT) hot.push(i)
    }
    await this.fromEntries(nodes, hot, take)
    const rest: number[] = []
    for (let i = 0; i < nodes.length; i++) if (!done[i]) rest.push(i)
    // The copies are derived: a file that cannot be read sends every read to the entries.
    await this.copies
      .read(
        rest.map((i) => ({ node: nodes[i]!, keyHash: this.copyKeys[nodes[i]!]! })),
        (j, data, at, length) => take(rest[j]!, data, at, length),
      )
      .catch((error: unknown) => reportBackgroundError(this.ctx, 'vector-copies-read-failed', error))
    await this.fromEntries(
      nodes,
      rest.filter((i) => !done[i]),
      take,
    )
  }

  /** Gives `take` the vectors of the nodes at `which` from their vector entries (none for one that has none). */
  private async fromEntries(nodes: readonly number[], which: number[], take: VectorUse): Promise<void> {
    if (which.length === 0) return
    const keys = which.map((i) => this.nodeKeys[nodes[i]!]!)
    const records = (await readManyNow(this.ctx, VECTOR_NAMESPACE, keys, decodeValue, false, true)) as Array<VectorRecord | undefined>
    which.forEach((i, j) => {
      const vector = records[j]?.v
      if (vector instanceof Float32Array) take(i, vector, 0, vector.length)
    })
  }

  /**
   * The best k of the candidates on their Float32 vectors (read from whichever tier holds them), for q a unit vector.
   * Which entries they are is settled before the read: the result is the memory as it was when
   * the search ran, whatever lands while the vectors are read.
   */
  private async rerank(q: Float32Array, candidates: Array<{ node: number }>, k: number, minScore: number): Promise<RecallHit[]> {
    const owned: Array<{ node: number; slot: number; score: number }> = []
    for (const { node } of candidates) {
      const slot = this.ownerSlot(node)
      if (slot >= 0) owned.push({ node, slot, score: Number.NaN })
    }
    await this.eachVector(
      owned.map((o) => o.node),
      (i, data, at, length) => {
        if (length === q.length) owned[i]!.score = cosine(q, data, at)
      },
    )
    const best = owned.filter((o) => o.score >= minScore).sort((a, b) => b.score - a.score)
    // Entry info for the k returned only (it formats the content hash: a string each).
    const { reg } = this.ctx
    return best
      .slice(0, k)
      .map(({ node, slot, score }) => ({ key: this.nodeEntries[node]!, namespace: this.nodeNamespaces[node]!, score, entry: toEntryInfo(reg, slot) }))
  }
}

function l1Norm(v: Float32Array): number {
  let sum = 0
  for (let i = 0; i < v.length; i++) sum += Math.abs(v[i]!)
  return sum
}

/** The cosine of a unit vector and data[at, at + unit.length). */
function cosine(unit: Float32Array, data: Float32Array, at: number): number {
  let dot = 0
  let norm = 0
  for (let i = 0; i < unit.length; i++) {
    const x = data[at + i]!
    dot += unit[i]! * x
    norm += x * x
  }
  return norm > 0 ? dot / Math.sqrt(norm) : 0
}

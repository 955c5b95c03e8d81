import { grownArray } from '../engine/grown-array.ts'
import { CodeCache } from './code-cache.ts'
import type { CodeSpace } from './code-space.ts'
import { SimilarityHeap } from './similarity-heap.ts'

/**
 * A hierarchical navigable small world graph (Malkov & Yashunin, arXiv 1603.09320) over int8
 * codes of unit vectors, scored by cosine similarity. Written here rather than taken from npm:
 * the libraries there (hnswlib-wasm, mememo, hnswlib-node) keep Float32 vectors in their own
 * memory or files, and this one must keep int8 codes that the engine pages through its tiers,
 * filter during the walk, and never hold the Float32 vectors (recall re-ranks from the store).
 *
 * Nodes are numbered from 0 and never renumbered; a deleted node stays in the graph as a
 * waypoint (its links keep the graph connected), is never a result, and its place goes to the
 * next vector inserted (`takeFree`).
 *
 * Layout, flat typed arrays grown by doubling (what the index pages are cut from):
 *   codes     dims bytes a node: round(v / max|v| * 127) of the unit vector v, in a CodeCache:
 *             all of them, or (with a limit) the most used, the rest read back
 *             (`CodeSource`) when a walk reaches them
 *   scales    max|v| / 127 a node, so code · code × scale × scale ≈ cosine
 *   levels    the node's top level; links0 / degree0 its level-0 links (up to 2M)
 *   upper     the links of levels 1.. for the few nodes that have them: [count, ...ids] of M + 1
 */
export interface HnswParams {
  /** Links a node keeps per level above 0 (2M at level 0). Default 16. */
  m: number
  /** Candidates considered when inserting. Default 200. */
  efConstruction: number
  /** Candidates considered when searching (at least k). Default 100. */
  efSearch: number
}

export const DEFAULT_HNSW: HnswParams = { m: 16, efConstruction: 200, efSearch: 100 }
/** The most candidates a walk weighs (efConstruction, efSearch): beyond it, an exact pass by another name. */
export const MAX_EF = 10_000

/**
 * Each node's code (dims bytes, as `quantise` made it at insert), for codes not in memory;
 * undefined where it can no longer be read (a deleted waypoint's: it then scores 0).
 */
export type CodeSource = (nodes: readonly number[]) => Promise<Array<Int8Array | undefined>>

/** Where the codes live: without `limit`, all in memory. */
export interface CodeResidence {
  /** Codes kept in memory at most (nodes); at least what one insert touches at once is kept. */
  limit?: number
  source?: CodeSource
}

/**
 * A walk's steps: it yields the nodes whose codes it needs and lacks, and goes on once they are
 * loaded. With every code in memory it never yields, so a walk runs to its end in the caller's
 * turn (recall's issue point) with no await between.
 */
type Walk<T> = Generator<number[], T, void>

const MAX_LEVEL = 15
/** Nodes scored per load in an exact pass or a copy of codes. */
const SCAN_BATCH = 256
/** Codes given to limitCodes' persist per call: each call is a write and a flush of an OPFS record file (1.5 MiB at 384 dims). */
const PERSIST_BATCH = 4_096

export interface Found {
  node: number
  sim: number
}

export interface SearchResult {
  found: Found[]
  exhausted: boolean
}

/** The graph's per-node arrays (the layout above): what the index pages are cut from. */
export interface HnswArrays {
  codes: Int8Array
  scales: Float32Array
  levels: Uint8Array
  deleted: Uint8Array
  links0: Int32Array
  degree0: Uint8Array
}

/** The graph's figures and arrays, codes aside (those may be partly out of memory: `codesOf`). */
export type HnswShape = Omit<HnswState, 'codes'>

export interface HnswState extends HnswArrays {
  dims: number
  params: HnswParams
  count: number
  entry: number
  maxLevel: number
  rng: number
  upper: Array<Int32Array[] | undefined>
}

export class HnswGraph {
  readonly dims: number
  readonly params: HnswParams
  private readonly m0: number
  private readonly levelFactor: number
  count = 0
  deletedCount = 0
  /** Rows of links above level 0, over all nodes (what residentBytes counts for them). */
  private upperLinks = 0
  entry = -1
  maxLevel = -1
  /** xorshift32 state: levels are drawn from a seeded sequence, so a build is repeatable. */
  rng = 0x2545f491
  private cache: CodeCache
  private readonly source: CodeSource | undefined
  /** The fewest codes a bounded graph keeps: what one insert needs at once (its candidates and a neighbour's links). */
  readonly minCodes: number
  scales: Float32Array
  levels: Uint8Array
  deleted: Uint8Array
  links0: Int32Array
  degree0: Uint8Array
  upper: Array<Int32Array[] | undefined> = []
  /** Deleted nodes whose places the next inserts take (takeFree), last deleted first. */
  private free: number[] = []
  /** Told of every node whose saved form changed (its code, links or deletion): the pages to save. */
  onChange: (node: number) => void = () => undefined
  /** Told of each new node's code as it is made (a view: copy it to keep it). */
  onCode: (node: number, code: Int8Array) => void = () => undefined
  private visited: Uint32Array
  private stamp = 0
  /** A walk step's unvisited neighbours (at most 2M). */
  private readonly batch: Int32Array
  /** The batch's similarities to the query, scored in one call (code-space's dotQueryList). */
  private readonly sims: Float64Array
  /**
   * A search's unit query, reused: walks run one at a time, and a typed array of its own per
   * search cost ~8 µs in Chromium, far more in the first searches after an open (traced).
   */
  private readonly unit: Float32Array
  /** The walk's heaps, reused: searches run one at a time (the engine is one thread) and drain them before returning. */
  private readonly candidates = new SimilarityHeap(true)
  private readonly results = new SimilarityHeap(false)
  /** A walk waiting for codes: the next one starts after it (the heaps and stamps are shared). */
  private suspended: Promise<unknown> | undefined

  constructor(dims: number, params: HnswParams = DEFAULT_HNSW, capacity = 64, residence: CodeResidence = {}) {
    this.dims = dims
    this.params = params
    this.m0 = params.m * 2
    this.levelFactor = 1 / Math.log(params.m)
    if (residence.limit !== undefined && !residence.source) throw new Error('a graph with a limit on its codes needs a CodeSource')
    this.minCodes = 2 * (params.efConstruction + this.m0 + 2)
    const limit = residence.limit === undefined ? undefined : Math.max(residence.limit, this.minCodes)
    this.cache = new CodeCache(dims, capacity, limit)
    this.source = residence.source
    this.scales = new Float32Array(capacity)
    this.levels = new Uint8Array(capacity)
    this.deleted = new Uint8Array(capacity)
    this.links0 = new Int32Array(capacity * this.m0)
    this.degree0 = new Uint8Array(capacity)
    this.visited = new Uint32Array(capacity)
    this.batch = new Int32Array(this.m0)
    this.sims = new Float64Array(this.m0)
    this.unit = new Float32Array(dims)
  }

  /**
   * A graph over saved state (index pages); the arrays are used as they are. With a limit on
   * the codes, the nodes of the highest levels keep theirs (every walk passes through them).
   */
  static restore(state: HnswState, residence: CodeResidence = {}): HnswGraph {
    const graph = new HnswGraph(state.dims, state.params, state.scales.length, residence)
    const order = Array.from({ length: state.count }, (_, node) => node)
    if (graph.cache.bounded) order.sort((a, b) => state.levels[b]! - state.levels[a]! || a - b)
    for (const node of order.slice(0, Math.min(state.count, graph.cache.limit))) {
      const slot = graph.cache.place(node)
      graph.cache.space.codes.set(state.codes.subarray(node * state.dims, (node + 1) * state.dims), slot * state.dims)
    }
    Object.assign(graph, {
      count: state.count,
      entry: state.entry,
      maxLevel: state.maxLevel,
      rng: state.rng,
      scales: state.scales,
      levels: state.levels,
      deleted: state.deleted,
      links0: state.links0,
      degree0: state.degree0,
      upper: state.upper,
      visited: new Uint32Array(state.scales.length),
    })
    for (let node = 0; node < state.count; node++) {
      if (state.deleted[node]) graph.free.push(node)
      graph.deletedCount += state.deleted[node]!
      graph.upperLinks += state.upper[node]?.length ?? 0
    }
    return graph
  }

  get capacity(): number {
    return this.scales.length
  }

  get live(): number {
    return this.count - this.deletedCount
  }

  /** Live nodes whose codes are in memory. */
  get residentLive(): number {
    if (!this.cache.bounded) return this.live
    let resident = 0
    for (let node = 0; node < this.count; node++) if (!this.deleted[node] && this.cache.slotOf[node]! >= 0) resident++
    return resident
  }

  /** Whether only some codes stay in memory (a limit given at construction or by limitCodes). */
  get codesBounded(): boolean {
    return this.cache.bounded
  }

  /** Bytes the codes in memory take (their slots, those not yet used too). */
  get codeBytes(): number {
    return this.cache.bytes
  }

  /** Nodes whose codes are in memory now. */
  get codesResident(): number {
    return this.cache.resident
  }

  /** Codes kept in memory at most (nodes); Infinity: all. */
  get codeLimit(): number {
    return this.cache.limit
  }

  /**
   * Keeps at most `limit` codes in memory from now on (never fewer than one insert needs). What
   * pressure does to the index (vector-index.ts relieve): its codes are paged out as entries are
   * demoted. Lowering the limit keeps the codes of the highest levels (every walk passes through
   * them), then those used since the clock last passed. `persist` is given every code in memory
   * first (the clock later drops codes without writing them), in chunks of views to copy or
   * write before it resolves, for the CodeSource to read back; if it fails, nothing changes.
   * Raising the limit of a bounded graph lets codes come back as walks reach them. Waits for a
   * walk in progress; walks after it wait for it.
   */
  limitCodes(limit: number, persist: (nodes: number[], codes: Int8Array[]) => Promise<void>): Promise<void> {
    if (!this.source) throw new Error('a graph with a limit on its codes needs a CodeSource')
    const bounded = Math.max(Math.floor(limit), this.minCodes)
    return this.locked(async () => {
      const old = this.cache
      if (old.bounded && bounded >= old.limit) return old.raise(bounded)
      const resident: number[] = []
      for (let node = 0; node < this.count; node++) if (old.holds(node)) resident.push(node)
      if (old.bounded && resident.length <= bounded) return this.swapCache(resident, bounded)
      // Every code, those kept too (the clock evicts codes later without writing them), in node
      // order: a record file writes consecutive records at once.
      for (let i = 0; i < resident.length; i += PERSIST_BATCH) {
        const nodes = resident.slice(i, i + PERSIST_BATCH)
        await persist(
          nodes,
          nodes.map((node) => old.codeOf(node)),
        )
      }
      const idle = (node: number) => (old.idle(node) ? 1 : 0)
      resident.sort((a, b) => this.levels[b]! - this.levels[a]! || idle(a) - idle(b) || a - b)
      this.swapCache(resident.slice(0, bounded), bounded)
    })
  }

  /** Lets a bounded graph keep up to `limit` codes, as walks bring them back; never lowers the limit. Held as limitCodes is. */
  raiseCodes(limit: number): Promise<void> {
    return this.locked(async () => {
      if (this.cache.bounded && Math.floor(limit) > this.cache.limit) this.cache.raise(Math.floor(limit))
    })
  }

  /** A new code cache of at most `limit` holding `keep`'s codes, copied from the current one. */
  private swapCache(keep: number[], limit: number): void {
    const old = this.cache
    const next = new CodeCache(this.dims, this.capacity, limit)
    for (const node of keep) next.space.codes.set(old.codeOf(node), next.place(node) * this.dims)
    this.cache = next
  }

  /** Runs `run` with the graph to itself, as a walk has it (exclusive). */
  private locked<T>(run: () => Promise<T>): Promise<T> {
    if (this.suspended) return this.suspended.then(() => this.locked(run))
    const rest = run()
    const free = () => {
      if (this.suspended === held) this.suspended = undefined
    }
    const held: Promise<unknown> = rest.then(free, free)
    this.suspended = held
    return rest
  }

  /** Bytes the graph holds in memory (its codes in memory, arrays and upper links). */
  get residentBytes(): number {
    const upper = this.upperLinks * (this.params.m + 1) * 4
    return this.cache.bytes + this.scales.byteLength + this.levels.byteLength * 2 + this.links0.byteLength + this.degree0.byteLength + upper
  }

  /**
   * A deleted node's place for the next insert to take (`insert(vector, place)`), or undefined
   * while none is free. Reusing places keeps a graph under churn at as many nodes as were ever
   * live at once, not as many as were ever put. Taken before the insert so the caller can name
   * the node first, and no remove in between changes which it is.
   */
  takeFree(): number | undefined {
    return this.free.pop()
  }

  /**
   * Adds a vector (any length-dims vector; it is normalised) as a new node, or in `place`, a
   * deleted node's that `takeFree` gave; returns its node number.
   */
  insert(vector: Float32Array, place?: number): number | Promise<number> {
    if (place !== undefined && !(place < this.count && this.deleted[place])) throw new Error(`node ${place} is not a deleted node's place`)
    return this.exclusive(() => (place === undefined ? this.inserting(vector) : this.replacing(place, vector)))
  }

  private *inserting(vector: Float32Array): Walk<number> {
    const node = this.count
    // Doubling from a small start: a memory with a few vectors holds a few KiB of graph, not 0.5 MiB.
    if (node === this.capacity) this.grow(Math.max(64, node * 2))
    this.count++
    const q = this.placeCode(node, vector)
    let done = false
    try {
      const level = this.drawLevel()
      this.levels[node] = level
      if (level > 0) {
        this.upper[node] = Array.from({ length: level }, () => new Int32Array(this.params.m + 1))
        this.upperLinks += level
      }
      if (this.entry >= 0) yield* this.linking(node, q, level)
      if (level > this.maxLevel) {
        this.entry = node
        this.maxLevel = level
      }
      done = true
      return node
    } finally {
      this.settle(node, done)
    }
  }

  /**
   * A deleted node's place given to a new vector (hnswlib's replace_deleted, its repair made
   * local): the node keeps its level; each old neighbour that linked to it links instead to the
   * best of its other links and the node's old ones (the waypoint it loses, bridged); then the
   * node takes its new vector's links as a new node would. Four rounds at 20k × 384, each
   * deleting half: the walk at efSearch 100 still found all of an exact pass's top 10 (at
   * efSearch 20, 0.95; 0.93 without the bridging, 0.97 before the churn).
   */
  private *replacing(node: number, vector: Float32Array): Walk<number> {
    const level = this.levels[node]!
    let done = false
    try {
      for (let l = 0; l <= level; l++) yield* this.bridge(node, l)
      const q = this.placeCode(node, vector)
      this.deleted[node] = 0
      this.deletedCount--
      yield* this.linking(node, q, level)
      done = true
      return node
    } finally {
      this.settle(node, done)
    }
  }

  /** Makes a node's code from a vector; returns the unit vector, set as the walk's query. */
  private placeCode(node: number, vector: Float32Array): Float32Array {
    this.onChange(node)
    const q = normalised(vector)
    this.cache.claimMissing([])
    const slot = this.cache.place(node)
    const code = this.cache.space.codes.subarray(slot * this.dims, (slot + 1) * this.dims)
    this.scales[node] = quantise(q, code)
    this.onCode(node, code)
    this.cache.space.setQuery(q)
    // Its code is read by every link made to it: it stays in memory until they are made.
    this.cache.kept = node
    return q
  }

  /** Links a node with its code in place to its best neighbours at each of its levels, and them to it. */
  private *linking(node: number, q: Float32Array, level: number): Walk<void> {
    let ep = this.entry
    for (let l = this.maxLevel; l > level; l--) ep = yield* this.greedy(q, ep, l)
    for (let l = Math.min(level, this.maxLevel); l >= 0; l--) {
      const found = (yield* this.searchLayer(q, ep, this.params.efConstruction, l)).drainBestFirst()
      // A replaced node may be reached through another's link to its old place: it is no neighbour of its own.
      const self = found.findIndex((c) => c.node === node)
      if (self >= 0) found.splice(self, 1)
      // Level 0 holds up to 2m links a node, and a new node takes all of them: the heuristic's
      // picks, then the closest it pruned (faiss's 2m at level 0 and keep_max_size_level0;
      // hnswlib takes m). At 100k × 384 clustered, efSearch 100: recall@10 0.9935 → 0.9973.
      const chosen = l === 0 ? yield* this.selectNeighbours(found, this.m0, true) : yield* this.selectNeighbours(found, this.params.m)
      this.setLinks(node, l, chosen)
      for (const neighbour of chosen) yield* this.link(neighbour, node, l)
      if (found.length > 0) ep = found[0]!.node
    }
  }

  /** An insert's end: its code may be evicted again; one that failed leaves no live node, its place deleted and free. */
  private settle(node: number, done: boolean): void {
    this.cache.kept = -1
    if (done) return
    // A replacement that failed before taking its place: still deleted, only free again.
    if (this.deleted[node]) this.free.push(node)
    else this.remove(node)
  }

  /** Old neighbours of `node` at `level` that link to it link instead to the best of their other links and its. */
  private *bridge(node: number, level: number): Walk<void> {
    const max = level === 0 ? this.m0 : this.params.m
    const old = Array.from(this.neighbours(node, level))
    for (const p of old) {
      const links = this.neighbours(p, level)
      if (!links.includes(node)) continue
      const pool = new Set<number>()
      for (const c of links) if (c !== node) pool.add(c)
      for (const c of old) if (c !== node && c !== p) pool.add(c)
      if (pool.size <= max) this.setLinks(p, level, [...pool])
      else yield* this.prune(p, level, [...pool])
    }
  }

  /** Marks a node deleted: still a waypoint, never a result, and its place the next insert's. */
  remove(node: number): void {
    if (node < 0 || node >= this.count || this.deleted[node]) return
    this.deleted[node] = 1
    this.deletedCount++
    this.free.push(node)
    this.onChange(node)
  }

  /**
   * The best nodes for q (any length-dims vector), at most `ef` of them, best first, among
   * those `accept` takes (asked once per node, during the walk). Nodes `accept` refuses are
   * still walked through. Stops early once `maxVisits` nodes were scored without finding `ef`
   * accepted ones (`exhausted` then says so, for a caller that wants an exact pass instead).
   * Only the best `keep` of the ef found are returned.
   */
  search(
    query: Float32Array,
    ef: number,
    accept: (node: number) => boolean,
    maxVisits = Number.POSITIVE_INFINITY,
    keep = ef,
  ): SearchResult | Promise<SearchResult> {
    return this.exclusive(() => this.searching(query, ef, accept, maxVisits, keep))
  }

  private *searching(query: Float32Array, ef: number, accept: (node: number) => boolean, maxVisits: number, keep: number): Walk<SearchResult> {
    if (this.entry < 0) return { found: [], exhausted: false }
    const q = normalisedInto(query, this.unit)
    this.cache.space.setQuery(q)
    let ep = this.entry
    for (let l = this.maxLevel; l > 0; l--) ep = yield* this.greedy(q, ep, l)
    const results = yield* this.searchLayer(q, ep, ef, 0, accept, maxVisits)
    return { found: results.drainBestFirst(keep), exhausted: results.exhausted }
  }

  /** Exact: every node `accept` takes, scored on its code; the best `ef`, best first. */
  scan(query: Float32Array, ef: number, accept: (node: number) => boolean): Found[] | Promise<Found[]> {
    return this.exclusive(() => this.scanning(query, ef, accept))
  }

  private *scanning(query: Float32Array, ef: number, accept: (node: number) => boolean): Walk<Found[]> {
    const q = normalisedInto(query, this.unit)
    const results = new SimilarityHeap(false)
    let batch: number[] = []
    for (let node = 0; node <= this.count; node++) {
      if (node < this.count) {
        if (this.deleted[node] || !accept(node)) continue
        batch.push(node)
        if (batch.length < this.batchNodes) continue
      }
      yield* this.need(batch)
      this.cache.space.setQuery(q)
      for (const taken of batch) {
        const sim = this.sim(taken)
        if (results.size < ef) results.push(taken, sim)
        else if (sim > results.topSim) {
          results.pop()
          results.push(taken, sim)
        }
      }
      batch = []
    }
    return results.drainBestFirst()
  }

  /**
   * The graph's state and the codes of node ranges, given to `use` in one go: no insert lands
   * between the codes read and the state seen (what a save needs to be one picture).
   */
  read<T>(ranges: (shape: HnswShape) => ReadonlyArray<readonly [number, number]>, use: (shape: HnswShape, codes: Int8Array[]) => T): T | Promise<T> {
    return this.exclusive(
      function* (this: HnswGraph): Walk<T> {
        const codes: Int8Array[] = []
        for (const [from, to] of ranges(this.shape())) codes.push(yield* this.copyingCodes(from, to))
        return use(this.shape(), codes)
      }.bind(this),
    )
  }

  /** The codes of nodes [from, to), node after node (a copy; codes not in memory are read again). */
  private *copyingCodes(from: number, to: number): Walk<Int8Array> {
    const dims = this.dims
    const out = new Int8Array((to - from) * dims)
    for (let start = from; start < to; start += this.batchNodes) {
      const nodes = Array.from({ length: Math.min(this.batchNodes, to - start) }, (_, i) => start + i)
      yield* this.need(nodes)
      const codes = this.cache.space.codes
      for (const node of nodes) {
        const at = this.cache.slotOf[node]! * dims
        out.set(codes.subarray(at, at + dims), (node - from) * dims)
      }
    }
    return out
  }

  /** The state to save, codes aside (the arrays themselves, not copies). */
  shape(): HnswShape {
    const { dims, params, count, entry, maxLevel, rng, scales, levels, deleted, links0, degree0, upper } = this
    return { dims, params, count, entry, maxLevel, rng, scales, levels, deleted, links0, degree0, upper }
  }

  /** The whole state, codes read again where they are not in memory. */
  state(): HnswState | Promise<HnswState> {
    return this.read(
      ({ count }) => [[0, count]],
      (shape, [codes]) => ({ ...shape, codes: codes! }),
    )
  }

  /** Level-0 links of a node (a view). */
  neighbours(node: number, level = 0): Int32Array {
    if (level === 0) return this.links0.subarray(node * this.m0, node * this.m0 + this.degree0[node]!)
    const links = this.upper[node]![level - 1]!
    return links.subarray(1, 1 + links[0]!)
  }

  private *searchLayer(q: Float32Array, ep: number, ef: number, level: number, accept?: (node: number) => boolean, maxVisits = Number.POSITIVE_INFINITY) {
    const stamp = this.nextStamp()
    const visited = this.visited
    const candidates = this.candidates.clear()
    const results = this.results.clear()
    const admits = (node: number) => !this.deleted[node] && (accept === undefined || accept(node))
    const batch = this.batch
    visited[ep] = stamp
    if (this.cache.bounded) yield* this.need([ep])
    const epSim = this.sim(ep)
    candidates.push(ep, epSim)
    // While building, every node is a result (deleted ones too: they still route); when
    // searching, only the ones the caller takes.
    if (accept === undefined || admits(ep)) results.push(ep, epSim)
    let visits = 1
    let exhausted = false
    while (candidates.size > 0) {
      const current = candidates.topNode
      const currentSim = candidates.topSim
      // Nothing left can beat the worst kept, once there are ef of them.
      if (results.size >= ef && currentSim < results.topSim) break
      candidates.pop()
      // The links read in place, not through neighbours(): a view and an iterator per step were
      // most of a recall's garbage (measured), and garbage is what makes the pauses of its p99.
      const upper = level === 0 ? undefined : this.upper[current]![level - 1]!
      const links = upper ?? this.links0
      const from = upper ? 1 : current * this.m0
      const to = upper ? 1 + upper[0]! : from + this.degree0[current]!
      let fresh = 0
      for (let j = from; j < to; j++) {
        const next = links[j]!
        if (visited[next] === stamp) continue
        visited[next] = stamp
        batch[fresh++] = next
      }
      if (this.cache.bounded) yield* this.need(batch.subarray(0, fresh))
      this.simsOf(fresh)
      for (let i = 0; i < fresh; i++) {
        const next = batch[i]!
        const sim = this.sims[i]!
        if (results.size < ef || sim > results.topSim) {
          candidates.push(next, sim)
          if (accept === undefined || admits(next)) {
            results.push(next, sim)
            if (results.size > ef) results.pop()
          }
        }
      }
      if (++visits > maxVisits && results.size < ef) {
        exhausted = true
        break
      }
    }
    return Object.assign(results, { exhausted })
  }

  /**
   * hnswlib's heuristic: a candidate is kept unless a kept one is closer to it than q is. With
   * `fill`, the closest candidates it turned down then fill the room left up to `max`.
   */
  private *selectNeighbours(candidates: Found[], max: number, fill = false): Walk<number[]> {
    if (candidates.length <= max) return candidates.map((c) => c.node)
    if (this.cache.bounded) yield* this.need(candidates.map((c) => c.node))
    const chosen: number[] = []
    for (const { node, sim } of candidates) {
      if (chosen.length >= max) break
      let keep = true
      for (const other of chosen) {
        if (this.simBetween(node, other) > sim) {
          keep = false
          break
        }
      }
      if (keep) chosen.push(node)
    }
    if (fill && chosen.length < max) {
      const taken = new Set(chosen)
      for (const { node } of candidates) {
        if (chosen.length >= max) break
        if (!taken.has(node)) chosen.push(node)
      }
    }
    return chosen
  }

  private setLinks(node: number, level: number, links: readonly number[]): void {
    this.onChange(node)
    if (level === 0) {
      this.links0.set(links, node * this.m0)
      this.degree0[node] = links.length
    } else {
      const row = this.upper[node]![level - 1]!
      row[0] = links.length
      row.set(links, 1)
    }
  }

  /** Adds `to` to `from`'s links at `level`, pruning `from`'s links by the heuristic when full. */
  private *link(from: number, to: number, level: number): Walk<void> {
    const max = level === 0 ? this.m0 : this.params.m
    const current = this.neighbours(from, level)
    if (current.length < max) {
      this.onChange(from)
      if (level === 0) this.links0[from * this.m0 + this.degree0[from]!++] = to
      else {
        const row = this.upper[from]![level - 1]!
        row[1 + row[0]!++] = to
      }
      return
    }
    yield* this.prune(from, level, [...current, to])
  }

  /** Sets `from`'s links at `level` to the heuristic's pick of `nodes` (more than the level holds). */
  private *prune(from: number, level: number, nodes: number[]): Walk<void> {
    if (this.cache.bounded) yield* this.need([from, ...nodes])
    const candidates = nodes.map((node) => ({ node, sim: this.simBetween(from, node) })).sort((a, b) => b.sim - a.sim)
    this.setLinks(from, level, yield* this.selectNeighbours(candidates, level === 0 ? this.m0 : this.params.m))
  }

  /** The closest node to q reachable from ep at one level, moving while a neighbour is closer. */
  private *greedy(q: Float32Array, ep: number, level: number): Walk<number> {
    let best = ep
    if (this.cache.bounded) yield* this.need([ep])
    let bestSim = this.sim(ep)
    for (let moved = true; moved;) {
      moved = false
      const links = this.neighbours(best, level)
      if (this.cache.bounded) yield* this.need(links)
      for (const next of links) {
        const sim = this.sim(next)
        if (sim > bestSim) {
          bestSim = sim
          best = next
          moved = true
        }
      }
    }
    return best
  }

  /** Nodes a pass over many loads at once: at most half the codes' slots, so one batch never pins them all. */
  private get batchNodes(): number {
    return Math.max(1, Math.min(SCAN_BATCH, Math.floor(this.cache.limit / 2)))
  }

  /** Asks for the codes of `nodes` not in memory (and keeps those that are until the next ask). */
  private *need(nodes: ArrayLike<number>): Walk<void> {
    if (!this.cache.bounded) return
    const missing = this.cache.claimMissing(nodes)
    if (missing.length > 0) yield missing
  }

  /** Loads codes a walk asked for into slots; a code that cannot be read is zeros. */
  private async load(nodes: number[]): Promise<void> {
    const codes = await this.source!(nodes)
    nodes.forEach((node, i) => {
      const at = this.cache.place(node) * this.dims
      const code = codes[i]
      if (code && code.length === this.dims) this.cache.space.codes.set(code, at)
      else this.cache.space.codes.fill(0, at, at + this.dims)
    })
  }

  /**
   * Runs a walk: to its end now when it never waits for codes, else step by step as they load.
   * One walk at a time: a walk waiting for codes holds the graph, and the next starts after it.
   */
  private exclusive<T>(start: () => Walk<T>): T | Promise<T> {
    if (this.suspended) return this.suspended.then(() => this.exclusive(start))
    const walk = start()
    let step = walk.next()
    if (step.done) return step.value
    const rest = (async () => {
      try {
        while (!step.done) {
          await this.load(step.value)
          step = walk.next()
        }
      } catch (error) {
        // The walk ends here: its cleanup runs, and the graph is free for the next one.
        walk.return(undefined as never)
        throw error
      }
      return step.value
    })()
    const held: Promise<unknown> = rest.then(
      () => {
        if (this.suspended === held) this.suspended = undefined
      },
      () => {
        if (this.suspended === held) this.suspended = undefined
      },
    )
    this.suspended = held
    return rest
  }

  /** cos(q, node) from the node's code, q a unit vector; the node's code must be in memory. */
  simTo(q: Float32Array, node: number): number {
    this.space.setQuery(q)
    return this.space.dotQuery(this.cache.slotOf[node]! * this.dims) * this.scales[node]!
  }

  private get space(): CodeSpace {
    return this.cache.space
  }

  /** cos(query set last, node): the walk sets its query once and scores many nodes. */
  private sim(node: number): number {
    return this.cache.space.dotQuery(this.cache.slotOf[node]! * this.dims) * this.scales[node]!
  }

  /** sims[i] = sim(batch[i]) for i < count, the codes scored together (their memory reads overlap). */
  private simsOf(count: number): void {
    const { space, slotOf } = this.cache
    const { batch, sims, scales, dims } = this
    const list = space.list
    for (let i = 0; i < count; i++) list[i] = slotOf[batch[i]!]! * dims
    space.dotQueryList(count, sims)
    for (let i = 0; i < count; i++) sims[i] = sims[i]! * scales[batch[i]!]!
  }

  private simBetween(x: number, y: number): number {
    const slotOf = this.cache.slotOf
    return this.cache.space.dotCodes(slotOf[x]! * this.dims, slotOf[y]! * this.dims) * this.scales[x]! * this.scales[y]!
  }

  private drawLevel(): number {
    let x = this.rng
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.rng = x >>> 0
    const u = (this.rng + 1) / 4_294_967_297
    return Math.min(MAX_LEVEL, Math.floor(-Math.log(u) * this.levelFactor))
  }

  private nextStamp(): number {
    if (this.stamp === 0xffff_ffff) {
      this.visited.fill(0)
      this.stamp = 0
    }
    return ++this.stamp
  }

  private grow(capacity: number): void {
    this.cache.growNodes(capacity)
    this.scales = grownArray(this.scales, capacity)
    this.levels = grownArray(this.levels, capacity)
    this.deleted = grownArray(this.deleted, capacity)
    this.links0 = grownArray(this.links0, capacity * this.m0)
    this.degree0 = grownArray(this.degree0, capacity)
    this.visited = grownArray(this.visited, capacity)
  }
}

/**
 * The int8 code of a unit vector, written into `out` (its length): round(v / max|v| × 127).
 * Returns the scale (max|v| / 127) that turns code · code back into a cosine. The same vector
 * gives the same code, bit for bit: a code read back from a vector equals the one made at insert.
 */
export function quantise(unit: Float32Array, out: Int8Array): number {
  let max = 0
  for (let i = 0; i < unit.length; i++) max = Math.max(max, Math.abs(unit[i]!))
  if (max > 0) for (let i = 0; i < unit.length; i++) out[i] = Math.round((unit[i]! / max) * 127)
  else out.fill(0)
  return max / 127
}

/** v / |v| (a copy); a zero vector stays zero. */
export function normalised(v: Float32Array): Float32Array {
  return normalisedInto(v, new Float32Array(v.length))
}

/** v / |v| written into `out` (v's length), returned; a zero vector stays zero. */
export function normalisedInto(v: Float32Array, out: Float32Array): Float32Array {
  let norm = 0
  for (let i = 0; i < v.length; i++) norm += v[i]! * v[i]!
  norm = Math.sqrt(norm)
  if (norm > 0) for (let i = 0; i < v.length; i++) out[i] = v[i]! / norm
  else out.fill(0)
  return out
}

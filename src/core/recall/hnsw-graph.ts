import { codeSpace, type CodeSpace } from './code-space.ts'
import { SimilarityHeap } from './similarity-heap.ts'

/**
 * A hierarchical navigable small world graph (Malkov & Yashunin, arXiv 1603.09320) over int8
 * codes of unit vectors, scored by cosine similarity. Written here rather than taken from npm:
 * the libraries there (hnswlib-wasm, mememo, hnswlib-node) keep Float32 vectors in their own
 * memory or files, and this one must keep int8 codes that the engine pages through its tiers,
 * filter during the walk, and never hold the Float32 vectors (recall re-ranks from the store).
 *
 * Nodes are numbered from 0 in insertion order and never renumbered; a deleted node stays in
 * the graph as a waypoint (its links keep the graph connected) and is never a result.
 *
 * Layout, flat typed arrays grown by doubling (what the index pages are cut from):
 *   codes     dims bytes a node: round(v / max|v| * 127) of the unit vector v
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

const MAX_LEVEL = 15

/** The graph's per-node arrays (the layout above): what the index pages are cut from. */
export interface HnswArrays {
  codes: Int8Array
  scales: Float32Array
  levels: Uint8Array
  deleted: Uint8Array
  links0: Int32Array
  degree0: Uint8Array
}

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
  private readonly space: CodeSpace
  scales: Float32Array
  levels: Uint8Array
  deleted: Uint8Array
  links0: Int32Array
  degree0: Uint8Array
  upper: Array<Int32Array[] | undefined> = []
  /** Told of every node whose saved form changed (its code, links or deletion): the pages to save. */
  onChange: (node: number) => void = () => undefined
  private visited: Uint32Array
  private stamp = 0
  /** The walk's heaps, reused: searches run one at a time (the engine is one thread) and drain them before returning. */
  private readonly candidates = new SimilarityHeap(true)
  private readonly results = new SimilarityHeap(false)

  constructor(dims: number, params: HnswParams = DEFAULT_HNSW, capacity = 64) {
    this.dims = dims
    this.params = params
    this.m0 = params.m * 2
    this.levelFactor = 1 / Math.log(params.m)
    this.space = codeSpace(dims, capacity * dims)
    this.scales = new Float32Array(capacity)
    this.levels = new Uint8Array(capacity)
    this.deleted = new Uint8Array(capacity)
    this.links0 = new Int32Array(capacity * this.m0)
    this.degree0 = new Uint8Array(capacity)
    this.visited = new Uint32Array(capacity)
  }

  /** A graph over saved state (index pages); the arrays are used as they are. */
  static restore(state: HnswState): HnswGraph {
    const graph = new HnswGraph(state.dims, state.params, 0)
    graph.space.grow(state.codes.length)
    graph.space.codes.set(state.codes)
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

  /** Bytes the graph holds in memory (its arrays and upper links). */
  get residentBytes(): number {
    const upper = this.upperLinks * (this.params.m + 1) * 4
    return this.space.codes.byteLength + this.scales.byteLength + this.levels.byteLength * 2 + this.links0.byteLength + this.degree0.byteLength + upper
  }

  /** Adds a vector (any length-dims vector; it is normalised); returns its node number. */
  insert(vector: Float32Array): number {
    const node = this.count
    // Doubling from a small start: a memory with a few vectors holds a few KiB of graph, not 0.5 MiB.
    if (node === this.capacity) this.grow(Math.max(64, node * 2))
    this.count++
    this.onChange(node)
    const q = normalised(vector)
    this.encode(node, q)
    this.space.setQuery(q)
    const level = this.drawLevel()
    this.levels[node] = level
    if (level > 0) {
      this.upper[node] = Array.from({ length: level }, () => new Int32Array(this.params.m + 1))
      this.upperLinks += level
    }
    if (this.entry < 0) {
      this.entry = node
      this.maxLevel = level
      return node
    }
    let ep = this.entry
    for (let l = this.maxLevel; l > level; l--) ep = this.greedy(q, ep, l)
    for (let l = Math.min(level, this.maxLevel); l >= 0; l--) {
      const found = this.searchLayer(q, ep, this.params.efConstruction, l).drainBestFirst()
      const chosen = this.selectNeighbours(found, this.params.m)
      this.setLinks(node, l, chosen)
      for (const neighbour of chosen) this.link(neighbour, node, l)
      ep = found[0]!.node
    }
    if (level > this.maxLevel) {
      this.entry = node
      this.maxLevel = level
    }
    return node
  }

  /** Marks a node deleted: still a waypoint, never a result. */
  remove(node: number): void {
    if (node < 0 || node >= this.count || this.deleted[node]) return
    this.deleted[node] = 1
    this.deletedCount++
    this.onChange(node)
  }

  /**
   * The best nodes for q (any length-dims vector), at most `ef` of them, best first, among
   * those `accept` takes (asked once per node, during the walk). Nodes `accept` refuses are
   * still walked through. Stops early once `maxVisits` nodes were scored without finding `ef`
   * accepted ones (`exhausted` then says so, for a caller that wants an exact pass instead).
   */
  search(
    query: Float32Array,
    ef: number,
    accept: (node: number) => boolean,
    maxVisits = Number.POSITIVE_INFINITY,
  ): { found: Array<{ node: number; sim: number }>; exhausted: boolean } {
    if (this.entry < 0) return { found: [], exhausted: false }
    const q = normalised(query)
    this.space.setQuery(q)
    let ep = this.entry
    for (let l = this.maxLevel; l > 0; l--) ep = this.greedy(q, ep, l)
    const results = this.searchLayer(q, ep, ef, 0, accept, maxVisits)
    return { found: results.drainBestFirst(), exhausted: results.exhausted }
  }

  /** Exact: every node `accept` takes, scored on its code; the best `ef`, best first. */
  scan(query: Float32Array, ef: number, accept: (node: number) => boolean): Array<{ node: number; sim: number }> {
    this.space.setQuery(normalised(query))
    const results = new SimilarityHeap(false)
    for (let node = 0; node < this.count; node++) {
      if (this.deleted[node] || !accept(node)) continue
      const sim = this.sim(node)
      if (results.size < ef) results.push(node, sim)
      else if (sim > results.topSim) {
        results.pop()
        results.push(node, sim)
      }
    }
    return results.drainBestFirst()
  }

  /** The state to save (the arrays themselves, not copies). */
  state(): HnswState {
    const { dims, params, count, entry, maxLevel, rng, scales, levels, deleted, links0, degree0, upper } = this
    return { dims, params, count, entry, maxLevel, rng, codes: this.space.codes, scales, levels, deleted, links0, degree0, upper }
  }

  /** Level-0 links of a node (a view). */
  neighbours(node: number, level = 0): Int32Array {
    if (level === 0) return this.links0.subarray(node * this.m0, node * this.m0 + this.degree0[node]!)
    const links = this.upper[node]![level - 1]!
    return links.subarray(1, 1 + links[0]!)
  }

  private searchLayer(q: Float32Array, ep: number, ef: number, level: number, accept?: (node: number) => boolean, maxVisits = Number.POSITIVE_INFINITY) {
    const stamp = this.nextStamp()
    const visited = this.visited
    const candidates = this.candidates.clear()
    const results = this.results.clear()
    const admits = (node: number) => !this.deleted[node] && (accept === undefined || accept(node))
    visited[ep] = stamp
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
      for (const next of this.neighbours(current, level)) {
        if (visited[next] === stamp) continue
        visited[next] = stamp
        const sim = this.sim(next)
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

  /** hnswlib's heuristic: a candidate is kept unless a kept one is closer to it than q is. */
  private selectNeighbours(candidates: Array<{ node: number; sim: number }>, max: number): number[] {
    if (candidates.length <= max) return candidates.map((c) => c.node)
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
  private link(from: number, to: number, level: number): void {
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
    const candidates = [...current, to].map((node) => ({ node, sim: this.simBetween(from, node) })).sort((a, b) => b.sim - a.sim)
    this.setLinks(from, level, this.selectNeighbours(candidates, max))
  }

  /** The closest node to q reachable from ep at one level, moving while a neighbour is closer. */
  private greedy(q: Float32Array, ep: number, level: number): number {
    let best = ep
    let bestSim = this.sim(ep)
    for (let moved = true; moved;) {
      moved = false
      for (const next of this.neighbours(best, level)) {
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

  private encode(node: number, unit: Float32Array): void {
    let max = 0
    for (let i = 0; i < unit.length; i++) max = Math.max(max, Math.abs(unit[i]!))
    const base = node * this.dims
    const codes = this.space.codes
    if (max > 0) for (let i = 0; i < unit.length; i++) codes[base + i] = Math.round((unit[i]! / max) * 127)
    this.scales[node] = max / 127
  }

  /** cos(q, node) from the node's code, q a unit vector. */
  simTo(q: Float32Array, node: number): number {
    this.space.setQuery(q)
    return this.space.dotQuery(node * this.dims) * this.scales[node]!
  }

  /** cos(query set last, node): the walk sets its query once and scores many nodes. */
  private sim(node: number): number {
    return this.space.dotQuery(node * this.dims) * this.scales[node]!
  }

  private simBetween(x: number, y: number): number {
    return this.space.dotCodes(x * this.dims, y * this.dims) * this.scales[x]! * this.scales[y]!
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
    const grown = <T extends Int8Array | Uint8Array | Int32Array | Float32Array | Uint32Array>(old: T, size: number): T => {
      const next = new (old.constructor as new (n: number) => T)(size)
      next.set(old)
      return next
    }
    this.space.grow(capacity * this.dims)
    this.scales = grown(this.scales, capacity)
    this.levels = grown(this.levels, capacity)
    this.deleted = grown(this.deleted, capacity)
    this.links0 = grown(this.links0, capacity * this.m0)
    this.degree0 = grown(this.degree0, capacity)
    this.visited = grown(this.visited, capacity)
  }
}

/** v / |v| (a copy); a zero vector stays zero. */
export function normalised(v: Float32Array): Float32Array {
  let norm = 0
  for (let i = 0; i < v.length; i++) norm += v[i]! * v[i]!
  norm = Math.sqrt(norm)
  const out = new Float32Array(v.length)
  if (norm > 0) for (let i = 0; i < v.length; i++) out[i] = v[i]! / norm
  return out
}

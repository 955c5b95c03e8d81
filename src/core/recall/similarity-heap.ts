import { grownArray } from '../engine/grown-array.ts'

/**
 * A binary heap of (node, similarity) pairs, best-first (`best: true`, the candidates of a graph
 * walk) or worst-first (the results, whose worst is the bar a newcomer must pass). Two parallel
 * typed arrays grown by doubling rather than an array of pairs: a search pushes thousands and
 * allocates nothing per push or pop (a plain array's pop boxed each similarity it returned,
 * ~3 KB of garbage a recall, measured).
 */
export class SimilarityHeap {
  private nodes = new Int32Array(64)
  private sims = new Float64Array(64)
  private count = 0

  constructor(private readonly best: boolean) {}

  /** Empties the heap, keeping its arrays' room: a graph walk reuses its heaps (no garbage per search). */
  clear(): this {
    this.count = 0
    return this
  }

  get size(): number {
    return this.count
  }

  /** The node at the top (best or worst, as built). */
  get topNode(): number {
    return this.nodes[0]!
  }

  get topSim(): number {
    return this.sims[0]!
  }

  push(node: number, sim: number): void {
    if (this.count === this.nodes.length) {
      this.nodes = grownArray(this.nodes, 2 * this.count)
      this.sims = grownArray(this.sims, 2 * this.count)
    }
    const { nodes, sims } = this
    let i = this.count++
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.above(sim, sims[parent]!)) break
      nodes[i] = nodes[parent]!
      sims[i] = sims[parent]!
      i = parent
    }
    nodes[i] = node
    sims[i] = sim
  }

  /** Removes the top; read topNode / topSim first. */
  pop(): void {
    const { nodes, sims } = this
    if (this.count === 0) return
    const n = --this.count
    if (n === 0) return
    const lastNode = nodes[n]!
    const lastSim = sims[n]!
    let i = 0
    for (;;) {
      let child = 2 * i + 1
      if (child >= n) break
      if (child + 1 < n && this.above(sims[child + 1]!, sims[child]!)) child++
      if (!this.above(sims[child]!, lastSim)) break
      nodes[i] = nodes[child]!
      sims[i] = sims[child]!
      i = child
    }
    nodes[i] = lastNode
    sims[i] = lastSim
  }

  /** The best `limit` pairs, best first (the heap is left empty): objects made for those only. */
  drainBestFirst(limit = Number.POSITIVE_INFINITY): Array<{ node: number; sim: number }> {
    // Worst-first: the worst are at the top, dropped before the rest are taken.
    if (!this.best) while (this.count > limit) this.pop()
    const out: Array<{ node: number; sim: number }> = []
    while (this.count > 0 && out.length < limit) {
      out.push({ node: this.topNode, sim: this.topSim })
      this.pop()
    }
    this.count = 0
    return this.best ? out : out.reverse()
  }

  private above(a: number, b: number): boolean {
    return this.best ? a > b : a < b
  }
}

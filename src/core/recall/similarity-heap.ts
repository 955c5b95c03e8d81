/**
 * A binary heap of (node, similarity) pairs, best-first (`best: true`, the candidates of a graph
 * walk) or worst-first (the results, whose worst is the bar a newcomer must pass). Two parallel
 * arrays rather than an array of pairs: a search pushes thousands and allocates nothing per push.
 */
export class SimilarityHeap {
  private nodes: number[] = []
  private sims: number[] = []

  constructor(private readonly best: boolean) {}

  /** Empties the heap, keeping its arrays' room: a graph walk reuses its heaps (no garbage per search). */
  clear(): this {
    this.nodes.length = 0
    this.sims.length = 0
    return this
  }

  get size(): number {
    return this.nodes.length
  }

  /** The node at the top (best or worst, as built). */
  get topNode(): number {
    return this.nodes[0]!
  }

  get topSim(): number {
    return this.sims[0]!
  }

  push(node: number, sim: number): void {
    const { nodes, sims } = this
    let i = nodes.length
    nodes.push(node)
    sims.push(sim)
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
    const lastNode = nodes.pop()!
    const lastSim = sims.pop()!
    const n = nodes.length
    if (n === 0) return
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

  /** The pairs, best first (the heap is left empty). */
  drainBestFirst(): Array<{ node: number; sim: number }> {
    const out: Array<{ node: number; sim: number }> = []
    while (this.size > 0) {
      out.push({ node: this.topNode, sim: this.topSim })
      this.pop()
    }
    return this.best ? out : out.reverse()
  }

  private above(a: number, b: number): boolean {
    return this.best ? a > b : a < b
  }
}

import { grownArray } from '../engine/grown-array.ts'
import { codeSpace, type CodeSpace } from './code-space.ts'

/**
 * Which nodes' int8 codes are in memory, and where: the graph walks on codes held in slots of a
 * CodeSpace, at most `limit` of them; a node without a slot has its code loaded again (the
 * graph's `need` and `load`, from its CodeSource). Unbounded (no limit), a node's slot is its number and nothing
 * is ever evicted: the whole graph in memory, as before paging.
 *
 * Eviction is CLOCK (second chance): a slot used since the hand last passed keeps its code one
 * more turn. Slots a caller needs together (one `claimMissing`) are pinned until the next
 * claim, so loading the missing ones never evicts the ones already there.
 */
export class CodeCache {
  readonly space: CodeSpace
  /** Per node: its slot, or -1 while its code is not in memory. */
  slotOf: Int32Array
  /** Per slot: its node, or -1 for a slot not yet used. */
  private nodeOf: Int32Array
  private used: Uint8Array
  private pinnedBy: Uint32Array
  private claim = 1
  private slots = 0
  private hand = 0
  /** Slots the codes may fill; Infinity: every node. */
  private max: number
  /** A node whose code is never evicted (the one an insert is linking), or -1. */
  kept = -1

  constructor(
    private readonly dims: number,
    nodes: number,
    limit = Number.POSITIVE_INFINITY,
  ) {
    this.max = limit
    const slots = Math.min(nodes, limit)
    this.space = codeSpace(dims, slots * dims)
    this.slotOf = new Int32Array(nodes).fill(-1)
    this.nodeOf = new Int32Array(slots).fill(-1)
    this.used = new Uint8Array(slots)
    this.pinnedBy = new Uint32Array(slots)
  }

  get bounded(): boolean {
    return this.max !== Number.POSITIVE_INFINITY
  }

  get limit(): number {
    return this.max
  }

  /** A higher limit for a bounded cache: codes fill the new room as walks load them. */
  raise(limit: number): void {
    if (!this.bounded || limit < this.max) throw new Error(`a cache's limit only rises, and only once it has one (${this.max} → ${limit})`)
    this.max = limit
  }

  /** Whether `node`'s code is in memory. */
  holds(node: number): boolean {
    return node < this.slotOf.length && this.slotOf[node]! >= 0
  }

  /** `node`'s code, a view of its slot (while it holds one). */
  codeOf(node: number): Int8Array {
    const at = this.slotOf[node]! * this.dims
    return this.space.codes.subarray(at, at + this.dims)
  }

  /** Whether the clock passed `node`'s slot since it was last used (always false unbounded: no clock runs). */
  idle(node: number): boolean {
    return this.bounded && this.used[this.slotOf[node]!] === 0
  }

  /** Nodes whose codes are in memory. */
  get resident(): number {
    return this.slots
  }

  /** Bytes the codes' slots take (those not yet used too). */
  get bytes(): number {
    return this.nodeOf.length * this.dims
  }

  /** Room for nodes numbered below `nodes`. */
  growNodes(nodes: number): void {
    if (nodes > this.slotOf.length) this.slotOf = grownArray(this.slotOf, nodes, -1)
  }

  /**
   * Pins `nodes` for the caller (until the next claim) and returns those whose codes are not
   * in memory, to load with `place`. Empty when unbounded: every code is always there.
   */
  claimMissing(nodes: ArrayLike<number>): number[] {
    const missing: number[] = []
    if (!this.bounded) return missing
    const claim = ++this.claim
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!
      const slot = this.slotOf[node]!
      if (slot < 0) missing.push(node)
      else {
        this.used[slot] = 1
        this.pinnedBy[slot] = claim
      }
    }
    return missing
  }

  /** A slot for `node`'s code (pinned by the current claim): a new one while under the limit, else the clock's victim. */
  place(node: number): number {
    // Asked twice (a node listed twice in one claim): the slot it has.
    let slot = this.slotOf[node]!
    if (slot >= 0) return slot
    slot = this.slots >= this.limit ? this.victim() : -1
    if (slot < 0) slot = this.newSlot()
    this.nodeOf[slot] = node
    this.slotOf[node] = slot
    this.used[slot] = 1
    this.pinnedBy[slot] = this.claim
    return slot
  }

  private newSlot(): number {
    const slot = this.slots++
    if (slot >= this.nodeOf.length) {
      // Doubling, as the graph's other arrays grow, up to the limit (past it only when every slot is pinned).
      const size = Math.max(slot + 1, Math.min(this.limit, Math.max(64, this.nodeOf.length * 2)))
      this.nodeOf = grownArray(this.nodeOf, size, -1)
      this.used = grownArray(this.used, size)
      this.pinnedBy = grownArray(this.pinnedBy, size)
      this.space.grow(size * this.dims)
    }
    return slot
  }

  /** The next slot the clock gives up (its node loses its code), or -1 when every slot is pinned. */
  private victim(): number {
    for (let sweep = 0; sweep < this.slots * 2; sweep++) {
      const slot = this.hand
      this.hand = (this.hand + 1) % this.slots
      const node = this.nodeOf[slot]!
      if (node < 0 || node === this.kept || this.pinnedBy[slot] === this.claim) continue
      if (this.used[slot]) {
        this.used[slot] = 0
        continue
      }
      this.slotOf[node] = -1
      this.nodeOf[slot] = -1
      return slot
    }
    return -1
  }
}

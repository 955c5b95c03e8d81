/**
 * A binary min-heap of (expiresAt, slot, generation) in typed arrays: the index ordered by
 * expiry that lets gc find expired entries in O(due · log n) instead of scanning all entries.
 * Entries are never removed from the middle; a popped triple whose generation or expiry no
 * longer matches the registry is stale and skipped (lazy deletion). `compact()` rebuilds it
 * when stale triples outnumber live ones.
 */
export class ExpiryHeap {
  private times: Float64Array
  private slots: Int32Array
  private gens: Uint32Array
  size = 0

  constructor(capacity = 1024) {
    this.times = new Float64Array(capacity)
    this.slots = new Int32Array(capacity)
    this.gens = new Uint32Array(capacity)
  }

  push(time: number, slot: number, gen: number): void {
    if (this.size === this.times.length) this.grow()
    let i = this.size++
    const { times, slots, gens } = this
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (times[parent]! <= time) break
      times[i] = times[parent]!
      slots[i] = slots[parent]!
      gens[i] = gens[parent]!
      i = parent
    }
    times[i] = time
    slots[i] = slot
    gens[i] = gen
  }

  peekTime(): number {
    return this.size > 0 ? this.times[0]! : Number.POSITIVE_INFINITY
  }
  peekSlot(): number {
    return this.slots[0]!
  }
  peekGen(): number {
    return this.gens[0]!
  }

  pop(): void {
    const last = --this.size
    if (last <= 0) return
    const { times, slots, gens } = this
    const time = times[last]!
    const slot = slots[last]!
    const gen = gens[last]!
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= last) break
      const right = left + 1
      const child = right < last && times[right]! < times[left]! ? right : left
      if (times[child]! >= time) break
      times[i] = times[child]!
      slots[i] = slots[child]!
      gens[i] = gens[child]!
      i = child
    }
    times[i] = time
    slots[i] = slot
    gens[i] = gen
  }

  clear(): void {
    this.size = 0
  }

  private grow(): void {
    const capacity = this.times.length * 2
    const times = new Float64Array(capacity)
    const slots = new Int32Array(capacity)
    const gens = new Uint32Array(capacity)
    times.set(this.times)
    slots.set(this.slots)
    gens.set(this.gens)
    this.times = times
    this.slots = slots
    this.gens = gens
  }
}

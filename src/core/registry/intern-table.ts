import { TiermemError } from '../api/errors.ts'

/**
 * Maps a small set of strings (entry types, layer names) to dense ids stored in typed arrays.
 * With `reclaim`, ids are counted by the entries using them and an id nobody uses is freed for
 * the next new name, so the limit is on names in use at once, not on names ever seen.
 */
export class InternTable {
  private readonly ids = new Map<string, number>()
  readonly names: (string | undefined)[] = []
  private readonly uses: number[] = []
  private readonly free: number[] = []

  constructor(
    readonly maxIds: number,
    private readonly what: string,
    private readonly reclaim = false,
  ) {}

  /** Names interned now. */
  get size(): number {
    return this.ids.size
  }

  has(name: string): boolean {
    return this.ids.has(name)
  }

  /** The id of a name, interning it. Callers check `size` first where input decides the names. */
  id(name: string): number {
    let id = this.ids.get(name)
    if (id === undefined) {
      if (this.ids.size >= this.maxIds) {
        throw new TiermemError('INVALID_OPTION', `more than ${this.maxIds} distinct ${this.what} in use at once; use tags for open-ended labels`)
      }
      id = this.free.pop() ?? this.names.length
      this.ids.set(name, id)
      this.names[id] = name
      this.uses[id] = 0
    }
    return id
  }

  lookup(name: string): number | undefined {
    return this.ids.get(name)
  }

  name(id: number): string {
    return this.names[id]!
  }

  /** An entry started using this id. */
  acquire(id: number): void {
    if (this.reclaim) this.uses[id]!++
  }

  /** An entry stopped using this id; the last one frees it. */
  release(id: number): void {
    if (!this.reclaim || --this.uses[id]! > 0) return
    this.ids.delete(this.names[id]!)
    this.names[id] = undefined
    this.free.push(id)
  }
}

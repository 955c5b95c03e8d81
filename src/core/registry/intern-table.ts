import { TiermemError } from '../api/errors.ts'

/**
 * Maps a small set of strings (entry types, layer names) to dense ids stored in typed arrays.
 * With `reclaim`, ids are counted by the entries using them, and an id nobody uses is reused for
 * a new name once the table is full, so the limit is on names in use at once, not on names ever
 * seen. An unused id keeps its name until then: an entry detached and attached again (every
 * tier move does that) must find its name where it left it. Freeing the id at the detach lost
 * the type of the only entry of a type that moved, and let the next new type take its id.
 */
export class InternTable {
  private readonly ids = new Map<string, number>()
  readonly names: (string | undefined)[] = []
  private readonly uses: number[] = []
  /** Ids no entry uses now (reclaim only): reused, oldest first, when a new name finds the table full. */
  private readonly idle = new Set<number>()

  constructor(
    readonly maxIds: number,
    private readonly what: string,
    private readonly reclaim = false,
  ) {}

  /** Names in use now (with reclaim: by at least one entry). */
  get size(): number {
    return this.ids.size - this.idle.size
  }

  has(name: string): boolean {
    return this.ids.has(name)
  }

  /** The id of a name, interning it. Callers check `size` first where input decides the names. */
  id(name: string): number {
    let id = this.ids.get(name)
    if (id === undefined) {
      if (this.ids.size >= this.maxIds) {
        const unused = this.idle.values().next().value
        if (unused === undefined) {
          throw new TiermemError('INVALID_OPTION', `more than ${this.maxIds} distinct ${this.what} in use at once; use tags for open-ended labels`)
        }
        this.idle.delete(unused)
        this.ids.delete(this.names[unused]!)
        id = unused
      } else {
        id = this.names.length
      }
      this.ids.set(name, id)
      this.names[id] = name
      this.uses[id] = 0
      // Unused until an entry acquires it.
      if (this.reclaim) this.idle.add(id)
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
    if (this.reclaim && this.uses[id]!++ === 0) this.idle.delete(id)
  }

  /** An entry stopped using this id; with none left it may be reused (its name stays until then). */
  release(id: number): void {
    if (this.reclaim && --this.uses[id]! === 0) this.idle.add(id)
  }
}

/** Maps a small set of strings (entry types, layer names) to dense ids stored in typed arrays. */
export class InternTable {
  private readonly ids = new Map<string, number>()
  readonly names: string[] = []

  constructor(private readonly maxIds: number) {}

  id(name: string): number {
    let id = this.ids.get(name)
    if (id === undefined) {
      id = this.names.length
      if (id >= this.maxIds) throw new RangeError(`more than ${this.maxIds} distinct names`)
      this.ids.set(name, id)
      this.names.push(name)
    }
    return id
  }

  lookup(name: string): number | undefined {
    return this.ids.get(name)
  }

  name(id: number): string {
    return this.names[id]!
  }
}

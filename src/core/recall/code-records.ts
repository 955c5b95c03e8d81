import { grownArray } from '../engine/grown-array.ts'
import type { RecordFile, RecordFiles } from '../store/record-file.ts'

/**
 * The graph's int8 codes on storage, one record a node, for a graph that keeps only some of them
 * in memory (`index.maxResidentBytes`): reading a node's 384-byte code back is one small read
 * and a copy, where reading its Float32 vector back is four times the bytes plus a
 * normalisation and a quantisation (measured in Node: ~6 µs a node against well under 1).
 *
 * A record is trusted only if it hashes to the sum kept in memory for its node (4 bytes a node,
 * set whenever the node's code is known: at insert, at load from the index pages, and when a
 * code is made again from its vector). A record never written, torn, or left by another numbering
 * of the nodes reads as missing, and the caller makes the code from the vector instead.
 *
 * Codes noted and not yet written stay here until `flush`, so they read back from memory
 * meanwhile. Without record files, nothing is kept or written.
 */
export class CodeRecords {
  private file: RecordFile | undefined
  private opening: Promise<RecordFile | undefined> | undefined
  private sums = new Uint32Array(64)
  /** Per node, 1 once its record holds its code as noted (written, or trusted at load). */
  private recorded = new Uint8Array(64)
  private readonly unwritten = new Map<number, Int8Array>()

  constructor(private readonly files: RecordFiles | undefined) {}

  async open(dims: number): Promise<void> {
    if (!this.files || this.file) return
    this.opening ??= this.files('codes', dims).catch(() => undefined)
    this.file = await this.opening
  }

  /** A node's code as it is (at insert, at load, or made again); `write`: to write at the next flush. */
  note(node: number, code: Int8Array, write: boolean): void {
    // Without a file no record is ever read: nothing to check against, nothing to write.
    if (!this.file) return
    this.fit(node)
    this.sums[node] = codeSum(code)
    this.recorded[node] = write ? 0 : 1
    if (write) this.unwritten.set(node, code.slice())
  }

  /**
   * Writes the codes of a graph about to page them (views, read before this resolves), those
   * whose records do not hold them yet; each is noted as it is. Without a file, nothing.
   */
  async keep(nodes: readonly number[], codes: readonly Int8Array[]): Promise<void> {
    const file = this.file
    if (!file) return
    const writes: Array<{ index: number; bytes: Uint8Array }> = []
    nodes.forEach((node, i) => {
      if (node < this.recorded.length && this.recorded[node] && !this.unwritten.has(node)) return
      const code = codes[i]!
      writes.push({ index: node, bytes: new Uint8Array(code.buffer, code.byteOffset, code.byteLength) })
    })
    if (writes.length === 0) return
    await file.write(writes)
    for (const { index, bytes } of writes) {
      this.fit(index)
      this.sums[index] = codeSum(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))
      this.recorded[index] = 1
      this.unwritten.delete(index)
    }
  }

  /** Grows the per-node arrays to hold `node`. */
  private fit(node: number): void {
    if (node < this.sums.length) return
    const size = Math.max(node + 1, this.sums.length * 2)
    this.sums = grownArray(this.sums, size)
    this.recorded = grownArray(this.recorded, size)
  }

  /** Each node's code: noted and unwritten, or from its record where that checks out; else undefined. */
  async read(nodes: readonly number[]): Promise<Array<Int8Array | undefined>> {
    const codes: Array<Int8Array | undefined> = nodes.map((node) => this.unwritten.get(node))
    const file = this.file
    const wanted = nodes.flatMap((node, i) => (codes[i] === undefined && node < this.sums.length ? [i] : []))
    if (!file || wanted.length === 0) return codes
    const records = await file.read(wanted.map((i) => nodes[i]!))
    wanted.forEach((i, j) => {
      const bytes = records[j]
      if (!bytes || bytes.byteLength !== file.recordBytes) return
      const code = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      if (codeSum(code) === this.sums[nodes[i]!]) codes[i] = code
    })
    return codes
  }

  /** Writes the noted codes (a failure keeps them noted, to try again). */
  async flush(): Promise<void> {
    const file = this.file
    if (!file || this.unwritten.size === 0) return
    const batch = [...this.unwritten]
    await file.write(batch.map(([index, code]) => ({ index, bytes: new Uint8Array(code.buffer, code.byteOffset, code.byteLength) })))
    // A code noted again meanwhile is the newer one: it stays to write.
    for (const [node, code] of batch) {
      if (this.unwritten.get(node) !== code) continue
      this.unwritten.delete(node)
      this.recorded[node] = 1
    }
  }

  async close(): Promise<void> {
    const file = this.file
    this.file = undefined
    await file?.close()
  }
}

/**
 * A 32-bit hash of a code (multiply-xorshift over its little-endian 32-bit words, then the
 * bytes left): enough to tell a torn or stale record, fast enough to check on every read.
 */
function codeSum(code: Int8Array): number {
  const whole = code.length >> 2
  const words = code.byteOffset % 4 === 0 ? new Int32Array(code.buffer, code.byteOffset, whole) : new Int32Array(code.slice(0, whole * 4).buffer)
  let h = 0x811c9dc5 ^ code.length
  for (let i = 0; i < whole; i++) {
    h = Math.imul(h ^ words[i]!, 0x01000193)
    h ^= h >>> 15
  }
  for (let i = whole * 4; i < code.length; i++) {
    h = Math.imul(h ^ (code[i]! & 0xff), 0x01000193)
    h ^= h >>> 15
  }
  return h >>> 0
}

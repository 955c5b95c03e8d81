import { xxHash32 } from 'js-xxhash'
import type { RecordFile, RecordFiles } from '../store/record-file.ts'

const encoder = new TextEncoder()
const SEED = 0x7665_6373

/**
 * Float32 copies of the index's vectors in a record file, one record per node, for re-ranking
 * without a store read. A record is the vector, a hash of the vector entry's key it was made
 * from, and a checksum of both:
 *
 *   dims × f32 | u32 xxHash32(vector key) | u32 xxHash32(everything before)
 *
 * A read answers only for a record that passes its checksum and names the node's current vector
 * key: a record never written, torn, or left by an earlier numbering of the nodes (a rebuilt
 * index) reads as missing, and the caller reads the vector's entry instead.
 */
export class VectorCopies {
  private file: RecordFile | undefined
  private opening: Promise<RecordFile | undefined> | undefined
  /** The read buffer when no read holds it. */
  private spare: Uint8Array | undefined

  constructor(private readonly files: RecordFiles | undefined) {}

  /** Opens the file for this width, once; without record files, or if it cannot open, there are no copies. */
  async open(dims: number): Promise<void> {
    if (!this.files || this.file) return
    this.opening ??= this.files('vectors', dims * 4 + 8).catch(() => undefined)
    this.file = await this.opening
  }

  get available(): boolean {
    return this.file !== undefined
  }

  async write(copies: ReadonlyArray<{ node: number; vector: Float32Array; vectorKey: string }>): Promise<void> {
    const file = this.file
    if (!file || copies.length === 0) return
    const dims = (file.recordBytes - 8) / 4
    // One buffer for the batch (an ArrayBuffer per record costs ~8 µs in Chromium).
    const buffer = new Uint8Array(copies.length * file.recordBytes)
    await file.write(
      copies.map(({ node, vector, vectorKey }, i) => {
        const bytes = buffer.subarray(i * file.recordBytes, (i + 1) * file.recordBytes)
        new Float32Array(bytes.buffer, bytes.byteOffset, dims).set(vector)
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
        view.setUint32(dims * 4, keyHash(vectorKey), true)
        view.setUint32(dims * 4 + 4, xxHash32(bytes.subarray(0, dims * 4 + 4), SEED) >>> 0, true)
        return { index: node, bytes }
      }),
    )
  }

  /**
   * Calls `use` with each node's vector whose record checks out (a view, good only during the
   * call: the buffer is read into again by the next read).
   */
  async read(nodes: ReadonlyArray<{ node: number; vectorKey: string }>, use: (i: number, vector: Float32Array) => void): Promise<void> {
    const file = this.file
    if (!file || nodes.length === 0) return
    const dims = (file.recordBytes - 8) / 4
    // One buffer kept for the reads, each taking it while it runs: a fresh ArrayBuffer per read cost more than the reads themselves in Chromium (~0.2 ms a recall, measured).
    const size = nodes.length * file.recordBytes
    const buffer = this.spare && this.spare.byteLength >= size ? this.spare : new Uint8Array(size)
    this.spare = undefined
    try {
      const records = await file.read(
        nodes.map((n) => n.node),
        buffer,
      )
      records.forEach((bytes, i) => {
        if (!bytes || bytes.byteLength !== file.recordBytes) return
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
        if (view.getUint32(dims * 4 + 4, true) !== xxHash32(bytes.subarray(0, dims * 4 + 4), SEED) >>> 0) return
        if (view.getUint32(dims * 4, true) !== keyHash(nodes[i]!.vectorKey)) return
        // A view where the record is 4-byte aligned (it always is as the stores make it), else a copy.
        use(i, bytes.byteOffset % 4 === 0 ? new Float32Array(bytes.buffer, bytes.byteOffset, dims) : new Float32Array(bytes.slice(0, dims * 4).buffer))
      })
    } finally {
      this.giveBack(buffer)
    }
  }

  /** Keeps the larger of a read's buffer and the spare one (another read may have given one back meanwhile). */
  private giveBack(buffer: Uint8Array): void {
    if (!this.spare || this.spare.byteLength < buffer.byteLength) this.spare = buffer
  }

  async close(): Promise<void> {
    const file = this.file
    this.file = undefined
    await file?.close()
  }
}

function keyHash(vectorKey: string): number {
  return xxHash32(encoder.encode(vectorKey), SEED) >>> 0
}

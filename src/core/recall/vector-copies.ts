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
    await file.write(
      copies.map(({ node, vector, vectorKey }) => {
        const bytes = new Uint8Array(file.recordBytes)
        new Float32Array(bytes.buffer, 0, dims).set(vector)
        const view = new DataView(bytes.buffer)
        view.setUint32(dims * 4, keyHash(vectorKey), true)
        view.setUint32(dims * 4 + 4, xxHash32(bytes.subarray(0, dims * 4 + 4), SEED) >>> 0, true)
        return { index: node, bytes }
      }),
    )
  }

  /** Each node's vector from its record, or undefined where the record does not check out. */
  async read(nodes: ReadonlyArray<{ node: number; vectorKey: string }>): Promise<Array<Float32Array | undefined>> {
    const file = this.file
    if (!file) return nodes.map(() => undefined)
    const dims = (file.recordBytes - 8) / 4
    const records = await file.read(nodes.map((n) => n.node))
    return records.map((bytes, i) => {
      if (!bytes || bytes.byteLength !== file.recordBytes) return undefined
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      if (view.getUint32(dims * 4 + 4, true) !== xxHash32(bytes.subarray(0, dims * 4 + 4), SEED) >>> 0) return undefined
      if (view.getUint32(dims * 4, true) !== keyHash(nodes[i]!.vectorKey)) return undefined
      // A view where the record is 4-byte aligned (it always is as the stores make it), else a copy.
      return bytes.byteOffset % 4 === 0 ? new Float32Array(bytes.buffer, bytes.byteOffset, dims) : new Float32Array(bytes.slice(0, dims * 4).buffer)
    })
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

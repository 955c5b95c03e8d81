import { xxHash32 } from '../persistence/xxhash32.ts'
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
        view.setUint32(dims * 4, copyKeyHash(vectorKey), true)
        view.setUint32(dims * 4 + 4, xxHash32(bytes.subarray(0, dims * 4 + 4), SEED) >>> 0, true)
        return { index: node, bytes }
      }),
    )
  }

  /**
   * Calls `use` with each node's vector whose record checks out: data[at, at + length), in a
   * buffer the next read reads into again (good only during the call). `keyHash` is the node's
   * vector key's copyKeyHash, which its record must name.
   */
  async read(nodes: ReadonlyArray<{ node: number; keyHash: number }>, use: VectorUse): Promise<void> {
    const file = this.file
    if (!file || nodes.length === 0) return
    const { recordBytes } = file
    const dims = (recordBytes - 8) / 4
    // One buffer kept for the reads, each taking it while it runs: a fresh ArrayBuffer per read cost more than the reads themselves in Chromium (~0.2 ms a recall, measured).
    const size = nodes.length * recordBytes
    const buffer = this.spare && this.spare.byteLength >= size ? this.spare : new Uint8Array(size)
    this.spare = undefined
    try {
      const records = await file.read(
        nodes.map((n) => n.node),
        buffer,
      )
      // Views of the whole buffer, made once a read: a view per record was most of a re-rank's garbage.
      const view = new DataView(buffer.buffer, buffer.byteOffset, size)
      const floats = new Float32Array(buffer.buffer, buffer.byteOffset, size / 4)
      records.forEach((bytes, i) => {
        if (!bytes || bytes.byteLength !== recordBytes) return
        // Record i at i × recordBytes of the buffer, as RecordFile.read promises; a file that put it elsewhere is read from a copy.
        const inPlace = bytes.buffer === buffer.buffer && bytes.byteOffset === buffer.byteOffset + i * recordBytes
        const base = inPlace ? i * recordBytes : 0
        const at = inPlace ? view : new DataView(bytes.slice().buffer)
        if (at.getUint32(base + dims * 4 + 4, true) !== xxHash32(bytes.subarray(0, dims * 4 + 4), SEED) >>> 0) return
        if (at.getUint32(base + dims * 4, true) !== nodes[i]!.keyHash) return
        if (inPlace) use(i, floats, base / 4, dims)
        else use(i, new Float32Array(at.buffer, 0, dims), 0, dims)
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

/** A vector's Float32 values: data[at, at + length), good only during the call that is given them. */
export type VectorUse = (i: number, data: Float32Array, at: number, length: number) => void

/** Room to encode a vector key in without an ArrayBuffer a key (grown for a longer one). */
let keyBytes = new Uint8Array(256)

/** The hash of a vector key a copy names (what read() is given per node, and write() stores). */
export function copyKeyHash(vectorKey: string): number {
  let { read, written } = encoder.encodeInto(vectorKey, keyBytes)
  if (read < vectorKey.length) {
    keyBytes = new Uint8Array(3 * vectorKey.length)
    ;({ written } = encoder.encodeInto(vectorKey, keyBytes))
  }
  return xxHash32(keyBytes.subarray(0, written), SEED) >>> 0
}

/**
 * Buffers the cold store's writes reuse: the raw payloads blocks are laid out in (the compressor
 * hands each one back with its result), and the run that joins a write's blocks.
 *
 * Why: a warm → cold move made four ArrayBuffers a block (the raw payload, the compressor's
 * answer, the sealed block, the joined run). In Chromium an ArrayBuffer is costly to make and to
 * sweep, and during a move the sweeps ran on the same two cores as the compressors and IndexedDB.
 * Measured on a 10k-record archive at level 9 (22 MB): the engine's thread used 0.52–0.73 s with
 * fresh buffers and 0.32–0.48 s reusing them; all threads together ~4.2 s against ~3.4 s. The
 * buffers are dropped once writes stop for a while, so an idle store keeps none.
 */
export class BlockBuffers {
  private readonly spare: ArrayBuffer[] = []
  private run: Uint8Array | undefined
  private lastUse = 0
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor(
    /** Bytes of each pooled buffer: payloads up to this size are laid out in one. */
    readonly capacity: number,
    /** The most buffers kept: about what two moves' chunks have in flight. */
    private readonly most: number,
    /** Bytes of the kept join buffer: a longer write gets a buffer of its own. */
    private readonly joinCapacity: number,
    /** Drops every buffer after this long without a take or give. */
    private readonly idleMs = 2000,
  ) {}

  /** A view of exactly `bytes` bytes: a spare buffer's start, or (when too large) a buffer of its own. */
  take(bytes: number): Uint8Array {
    this.touch()
    if (bytes > this.capacity) return new Uint8Array(bytes)
    const buffer = this.spare.pop()
    // A spare holds an earlier payload's bytes: layouts write every byte of their view.
    return buffer ? new Uint8Array(buffer, 0, bytes) : new Uint8Array(new ArrayBuffer(this.capacity), 0, bytes)
  }

  /** Gives a taken buffer back once nothing reads it. Buffers not of this pool's size are left to the collector. */
  give(view: Uint8Array): void {
    const buffer = view.buffer as ArrayBuffer
    if (buffer.byteLength !== this.capacity || this.spare.length >= this.most || this.spare.includes(buffer)) return
    this.touch()
    this.spare.push(buffer)
  }

  /** A view of exactly `bytes` bytes to join a write in; good until the next call. */
  joined(bytes: number): Uint8Array {
    this.touch()
    if (bytes > this.joinCapacity) return new Uint8Array(bytes)
    this.run ??= new Uint8Array(this.joinCapacity)
    return this.run.subarray(0, bytes)
  }

  /** Drops every buffer now (close). */
  clear(): void {
    this.spare.length = 0
    this.run = undefined
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  get spares(): number {
    return this.spare.length
  }

  private touch(): void {
    this.lastUse = Date.now()
    if (this.timer !== undefined) return
    const check = () => {
      const idle = Date.now() - this.lastUse
      if (idle >= this.idleMs) this.clear()
      else this.timer = setTimeout(check, this.idleMs - idle)
    }
    this.timer = setTimeout(check, this.idleMs)
  }
}

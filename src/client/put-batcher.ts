import { deserializeError } from '../wire/error-transfer.ts'
import type { EntryInfo, PutOptions } from '../core/api/types.ts'
import type { PackedPuts, PutResult } from '../wire/protocol.ts'
import { bytesOf, ownPutOptions } from './own-views.ts'

interface PendingPut {
  key: string
  bytes: Uint8Array
  options: PutOptions | undefined
  resolve(info: EntryInfo): void
  reject(error: unknown): void
}

/**
 * Puts issued in the same turn leave as one message (their values in one transferred buffer)
 * and settle one by one. Every other call flushes them first: the port keeps order, so a get
 * right after a put reaches the worker after it and waits for it there.
 */
export class PutBatcher {
  private pending: PendingPut[] = []

  constructor(
    /** Sends one turn's puts to the worker, one result per put. */
    private readonly send: (packed: PackedPuts) => Promise<PutResult[]>,
    /** Why calls are refused now (closed, or the worker is lost): a refused turn's puts all reject with it. */
    private readonly refused: () => Promise<never> | undefined,
  ) {}

  put(key: string, value: unknown, options: PutOptions | undefined): Promise<EntryInfo> {
    return new Promise<EntryInfo>((resolve, reject) => {
      // Encoded now, its vector copied now: the value is taken as it is when put() is called.
      const bytes = bytesOf(value)
      this.pending.push({ key, bytes, options: ownPutOptions(options), resolve, reject })
      if (this.pending.length === 1) queueMicrotask(() => this.flush())
    })
  }

  /** Sends the puts of this turn now (before any other call). */
  flush(): void {
    if (this.pending.length === 0) return
    const batch = this.pending
    this.pending = []
    const refusal = this.refused()
    if (refusal) {
      refusal.catch((e: unknown) => batch.forEach((p) => p.reject(e)))
      return
    }
    this.send(packPuts(batch)).then(
      (results) => results.forEach((r, i) => ('ok' in r ? batch[i]!.resolve(r.ok) : batch[i]!.reject(deserializeError(r.error)))),
      (error: unknown) => batch.forEach((p) => p.reject(error)),
    )
  }
}

/** Copies encoded values into one buffer to transfer: one transfer instead of one per value, and the caller's buffers stay theirs. */
export function packPuts(items: ReadonlyArray<{ key: string; bytes: Uint8Array; options?: PutOptions | undefined }>): PackedPuts {
  let total = 0
  for (const item of items) total += item.bytes.byteLength
  const buffer = new ArrayBuffer(total)
  const view = new Uint8Array(buffer)
  let offset = 0
  const out: PackedPuts['items'] = items.map(({ key, bytes, options }) => {
    view.set(bytes, offset)
    const entry = { key, offset, length: bytes.byteLength, ...(options ? { options } : {}) }
    offset += bytes.byteLength
    return entry
  })
  return { buffer, items: out }
}

import { deflateSync, inflateSync } from 'fflate'
import { copyBytes } from '../core/persistence/codec.ts'
import { TiermemError } from '../core/api/errors.ts'
import type { DeflateLevel } from './segment-format.ts'
import type { BatchOptions, ScanOptions, Store, StoreOp, StoreSpace, StoreStats } from '../core/store/store.ts'

const RAW = 0
const DEFLATED = 1
const HEADER_BYTES = 5

/**
 * Wraps a store so its values are deflated (the cold fallback where OPFS is missing:
 * IndexedDB under this wrapper). Compression is a wrapper, not a flag of each store: the
 * same wrapper serves any store. Each value gets a 5-byte header (flag, raw length) so inflate
 * writes into a preallocated buffer; values that do not shrink by 5 % are kept raw.
 * Compression happens before the inner store opens its transaction, never inside it.
 */
export function compressedStore(inner: Store, options: { level?: DeflateLevel } = {}): Store {
  const level = options.level ?? 6

  const pack = (value: Uint8Array, at: DeflateLevel): Uint8Array => {
    const deflated = value.byteLength > 64 ? deflateSync(value, { level: at }) : undefined
    const useDeflate = deflated !== undefined && deflated.byteLength <= value.byteLength * 0.95
    const body = useDeflate ? deflated : value
    const out = new Uint8Array(HEADER_BYTES + body.byteLength)
    out[0] = useDeflate ? DEFLATED : RAW
    new DataView(out.buffer).setUint32(1, value.byteLength, true)
    out.set(body, HEADER_BYTES)
    return out
  }
  const unpack = (stored: Uint8Array | undefined): Uint8Array | undefined => {
    if (stored === undefined) return undefined
    if (stored.byteLength < HEADER_BYTES || (stored[0] !== RAW && stored[0] !== DEFLATED)) {
      throw new TiermemError('CORRUPT', 'a compressed record has an unknown header; it is damaged')
    }
    const rawLength = new DataView(stored.buffer, stored.byteOffset, HEADER_BYTES).getUint32(1, true)
    const body = stored.subarray(HEADER_BYTES)
    try {
      const raw = stored[0] === DEFLATED ? inflateSync(body, { out: new Uint8Array(rawLength) }) : copyBytes(body)
      if (raw.byteLength !== rawLength) throw new Error(`length ${raw.byteLength}, expected ${rawLength}`)
      return raw
    } catch (cause) {
      throw new TiermemError('CORRUPT', 'a compressed record could not be inflated; it is damaged', { cause })
    }
  }

  return {
    backend: inner.backend,
    capabilities: inner.capabilities,
    async getMany(space, keys, options) {
      const values = await (options ? inner.getMany(space, keys, options) : inner.getMany(space, keys))
      return space === 'values' ? values.map(unpack) : values
    },
    batch(ops: readonly StoreOp[], options?: BatchOptions) {
      try {
        const at = (options?.level ?? level) as DeflateLevel
        const packed = ops.map((op) =>
          op.type === 'put' && op.space === 'values' && op.value instanceof Uint8Array ? { ...op, value: pack(op.value, at) } : op,
        )
        // The level is spent here; only the background hint goes on.
        return options?.background ? inner.batch(packed, { background: true }) : inner.batch(packed)
      } catch (error) {
        return Promise.reject(error)
      }
    },
    /** Exact: each record is compressed on its own. */
    async storedSizes(space, keys) {
      return (await inner.getMany(space, keys)).map((value) => value?.byteLength)
    },
    ...(inner.keys ? { keys: (space: StoreSpace, options?: ScanOptions) => inner.keys!(space, options) } : {}),
    async scan(space, options) {
      const page = await inner.scan(space, options)
      return space === 'values' ? page.map(([key, value]): [string, Uint8Array] => [key, unpack(value)!]) : page
    },
    /** Walks every value's header: exact, for diagnostics (the engine caches it). */
    async stats(): Promise<StoreStats> {
      const innerStats = await inner.stats()
      let raw = 0
      let stored = 0
      for (
        let after: string | undefined, page;
        (page = await inner.scan('values', after === undefined ? { limit: 1000 } : { after, limit: 1000 })).length > 0;
      ) {
        for (const [, value] of page) {
          stored += value.byteLength
          raw += value.byteLength >= HEADER_BYTES ? new DataView(value.buffer, value.byteOffset, HEADER_BYTES).getUint32(1, true) : 0
        }
        after = page[page.length - 1]![0]
      }
      const metaBytes = innerStats.logicalBytes - stored
      return {
        storedBytes: innerStats.storedBytes,
        logicalBytes: metaBytes + raw,
        compressionRatio: raw === 0 ? 1 : stored / raw,
        deadRatio: innerStats.deadRatio,
      }
    },
    close: () => inner.close(),
  }
}

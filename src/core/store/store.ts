/**
 * The store contract: the only way the engine reaches storage.
 *
 * A store holds byte records in named spaces. The engine keeps entry metadata in the warm
 * store's `meta` space beside the values, so one `batch()` can flip a tier (metadata + value)
 * atomically. Stores copy the bytes they keep: the caller may reuse its buffers after the
 * returned promise settles.
 */
export type StoreSpace = 'meta' | 'values'

export type StoreOp =
  | { type: 'put'; space: StoreSpace; key: string; value: Uint8Array }
  | { type: 'delete'; space: StoreSpace; key: string }
  /** Deletes every key strictly between `after` and `before`; only where capabilities.rangeDeletes. */
  | { type: 'deleteRange'; space: StoreSpace; after: string; before: string }

/** The ops that name one key (every store takes these). */
export type KeyedStoreOp = Exclude<StoreOp, { type: 'deleteRange' }>

export interface StoreCapabilities {
  /** `batch()` applies all of its ops or none. The engine needs this of the warm store. */
  atomicBatch: boolean
  /** Largest number of ops one `batch()` accepts; the engine splits bigger work. */
  maxBatchSize: number
  /** Data outlives the store object (reopening the same name sees it). */
  persistent: boolean
  /**
   * `batch()` takes 'deleteRange' ops. The engine deletes runs of emptied warm pages with one op:
   * in Chromium one range delete costs half the CPU of deleting its records one by one (measured).
   */
  rangeDeletes?: boolean
}

export interface StoreStats {
  /** Bytes the store occupies for its records, after its own compression. */
  storedBytes: number
  /** Bytes of the records as given to the store. */
  logicalBytes: number
  /** storedBytes / logicalBytes (1 when the store does not compress). */
  compressionRatio: number
  /** Share of stored bytes that belong to deleted or superseded records (0..1). */
  deadRatio: number
}

export interface ScanOptions {
  /** Return keys strictly greater than this one. */
  after?: string
  /** Return keys strictly less than this one. */
  before?: string
  /** At most this many records (default: the store's choice, at least 1). */
  limit?: number
}

/**
 * Who a call is for. Background work (a warm → cold move of idle entries, an archive, a backup)
 * says so; a store that works in time slices may then pause longer while reads are arriving
 * (TimeSlices' `background`). Stores that answer in one go ignore it.
 */
export interface CallOptions {
  background?: boolean
}

/** How a batch's records are kept: hints that stores which do not compress (or slice) ignore. */
export interface BatchOptions extends CallOptions {
  /** Deflate level 1..9 for these records (archived entries: their archive rule's), instead of the store's own. */
  level?: number
}

export interface Store {
  /** Short name of the backend: 'memory', 'indexeddb', 'opfs', … */
  readonly backend: string
  readonly capabilities: StoreCapabilities
  getMany(space: StoreSpace, keys: readonly string[], options?: CallOptions): Promise<(Uint8Array | undefined)[]>
  /** Applies ops in order; for atomic stores all or nothing. Rejects with a TiermemError. */
  batch(ops: readonly StoreOp[], options?: BatchOptions): Promise<void>
  /**
   * Optional, for stores that compress: the bytes each record takes on storage (its share of a
   * compressed block), undefined for a missing key. What `stats().archive` reports as stored.
   */
  storedSizes?(space: StoreSpace, keys: readonly string[]): Promise<(number | undefined)[]>
  /** Records in ascending key order (code unit order), one page at a time. */
  scan(space: StoreSpace, options?: ScanOptions): Promise<Array<[string, Uint8Array]>>
  /**
   * Optional: the keys alone, in the same order and pages as scan(). Stores that can list keys
   * without reading values provide it (the engine sweeps cold keys at open; reading every value
   * would inflate the whole cold tier). The engine falls back to scan() without it.
   */
  keys?(space: StoreSpace, options?: ScanOptions): Promise<string[]>
  stats(): Promise<StoreStats>
  close(): Promise<void>
}

export const STORE_SPACES: readonly StoreSpace[] = ['meta', 'values']

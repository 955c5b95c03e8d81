import { copyBytes } from '../persistence/codec.ts'
import { TiermemError } from '../api/errors.ts'
import type { ScanOptions, Store, StoreOp, StoreSpace, StoreStats } from './store.ts'
import { validateBatch } from './validate-batch.ts'

/** The records behind memory stores; share one between stores to reopen over the same data. */
export interface MemoryStoreData {
  readonly spaces: Record<StoreSpace, Map<string, Uint8Array>>
}

export function memoryStoreData(): MemoryStoreData {
  return { spaces: { meta: new Map(), values: new Map() } }
}

/**
 * An in-process store: a Map per space. Atomic (ops are validated before any is applied).
 * Persistent only as long as the `data` it is given lives: pass the same `data` to a new store to
 * "reopen" it (tests of reload and crash recovery do). The default warm and cold store of
 * `createMemory()`, and the reference the contract suite is written against.
 */
export function memoryStore(options: { data?: MemoryStoreData } = {}): Store {
  const { spaces } = options.data ?? memoryStoreData()
  let closed = false
  let logicalBytes = 0
  for (const map of Object.values(spaces)) for (const value of map.values()) logicalBytes += value.byteLength

  // Sorting every page is O(n log n); fine for an in-process store used in tests and at open.
  const pageOfKeys = (space: StoreSpace, { after, before, limit = 1000 }: ScanOptions): string[] =>
    [...spaces[space].keys()]
      .filter((k) => (after === undefined || k > after) && (before === undefined || k < before))
      .sort()
      .slice(0, limit)

  const assertOpen = (): void => {
    if (closed) throw new TiermemError('CLOSED', 'this memory store is closed; open a new one')
  }

  return {
    backend: 'memory',
    capabilities: { atomicBatch: true, maxBatchSize: Number.MAX_SAFE_INTEGER, persistent: options.data !== undefined, rangeDeletes: true },

    async getMany(space: StoreSpace, keys: readonly string[]) {
      assertOpen()
      const map = spaces[space]
      // Hand out copies: a caller writing into what it read must not change the store.
      return keys.map((key) => {
        const value = map.get(key)
        return value && copyBytes(value)
      })
    },

    async batch(ops: readonly StoreOp[]) {
      assertOpen()
      validateBatch(ops, true)
      for (const op of ops) {
        const map = spaces[op.space]
        if (op.type === 'deleteRange') {
          for (const [key, value] of map) {
            if (key > op.after && key < op.before) {
              logicalBytes -= value.byteLength
              map.delete(key)
            }
          }
          continue
        }
        const previous = map.get(op.key)
        if (previous) logicalBytes -= previous.byteLength
        if (op.type === 'put') {
          const copy = copyBytes(op.value)
          map.set(op.key, copy)
          logicalBytes += copy.byteLength
        } else {
          map.delete(op.key)
        }
      }
    },

    async scan(space: StoreSpace, options: ScanOptions = {}) {
      assertOpen()
      return pageOfKeys(space, options).map((k): [string, Uint8Array] => [k, copyBytes(spaces[space].get(k)!)])
    },

    async keys(space: StoreSpace, options: ScanOptions = {}) {
      assertOpen()
      return pageOfKeys(space, options)
    },

    async stats(): Promise<StoreStats> {
      assertOpen()
      return { storedBytes: logicalBytes, logicalBytes, compressionRatio: 1, deadRatio: 0 }
    },

    async close() {
      closed = true
    },
  }
}

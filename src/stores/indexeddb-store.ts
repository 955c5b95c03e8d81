import { deleteDB, openDB, unwrap, type DBSchema, type IDBPDatabase } from 'idb'
import { copyBytes } from '../core/persistence/codec.ts'
import { TiermemError } from '../core/api/errors.ts'
import { toStorageError } from './storage-errors.ts'
import type { CallOptions, ScanOptions, Store, StoreOp, StoreSpace, StoreStats } from '../core/store/store.ts'
import { validateBatch } from '../core/store/validate-batch.ts'
import { TimeSlices } from '../core/engine/time-slices.ts'

interface TiermemDB extends DBSchema {
  meta: { key: string; value: Uint8Array }
  values: { key: string; value: Uint8Array }
}

/** Schema versions; each step of `upgrade` moves one version forward, so any old database opens. */
export const INDEXEDDB_SCHEMA_VERSION = 1

export interface IndexedDbStoreOptions {
  /** The IndexedDB database name. */
  database: string
  /**
   * Transaction durability: 'strict' waits for the OS to flush, 'relaxed' for the write to
   * reach the browser's storage process. Chromium treats 'default' as 'relaxed' (measured).
   */
  durability?: IDBTransactionDurability
}

/**
 * The warm store: one IndexedDB database with a `meta` and a `values` object store, so one
 * readwrite transaction over both commits a tier flip atomically. Values are stored as
 * Uint8Array (a structured clone of bytes: no per-field work for the browser).
 *
 * Platform rules this depends on: a transaction commits when no request is pending at the end
 * of a task, so nothing here awaits anything but IndexedDB between opening a transaction and
 * its last request (compress before, never inside); a structured clone of a typed-array view
 * copies the whole underlying buffer, so partial views are sliced first.
 */
export async function openIndexedDbStore(options: IndexedDbStoreOptions): Promise<Store> {
  if (typeof indexedDB === 'undefined') throw new TiermemError('INVALID_OPTION', 'IndexedDB is not available in this environment')
  const durability = options.durability ?? 'default'
  let db: IDBPDatabase<TiermemDB>
  try {
    db = await openDB<TiermemDB>(options.database, INDEXEDDB_SCHEMA_VERSION, {
      upgrade(database, oldVersion) {
        if (oldVersion < 1) {
          database.createObjectStore('meta')
          database.createObjectStore('values')
        }
      },
      // Another tab asks for a newer schema: let it proceed; our calls then fail with CLOSED.
      blocking() {
        closed = true
        db.close()
      },
    })
  } catch (error) {
    throw toStorageError(error, `opening IndexedDB database '${options.database}'`, 'CLOSED')
  }
  let closed = false
  const assertOpen = () => {
    if (closed) throw new TiermemError('CLOSED', `IndexedDB store '${options.database}' is closed; open the memory again`)
  }

  return {
    backend: 'indexeddb',
    // One transaction is the unit of atomicity, and IndexedDB sets no request limit on it; this
    // bound keeps one batch's memory in reason (a putMany of more must be split by the caller).
    capabilities: { atomicBatch: true, maxBatchSize: 100_000, persistent: true, rangeDeletes: true },

    async getMany(space: StoreSpace, keys: readonly string[], callOptions?: CallOptions) {
      assertOpen()
      try {
        // Plain requests and one wait for the transaction: idb's promise per request costs
        // ~13 µs each in Chromium (measured on 10k-request batches).
        // Answered when the last request succeeds: waiting for the read-only transaction's
        // `complete` costs one more round trip to the storage process (~0.3 ms a read, measured).
        const tx = unwrap(db).transaction(space, 'readonly')
        const store = tx.objectStore(space)
        const requests = keys.map((key) => store.get(key) as IDBRequest<Uint8Array | undefined>)
        await requestsDone(tx, requests)
        // Taking a result deserializes it: ~1 ms per 32 KiB page under load (measured), so the
        // results of a large read are taken in time slices, letting reads in between.
        const results: (Uint8Array | undefined)[] = new Array(requests.length)
        const slices = new TimeSlices({ background: callOptions?.background === true })
        for (let i = 0; i < requests.length; i++) {
          results[i] = requests[i]!.result
          if (slices.due) await slices.pause()
        }
        return results
      } catch (error) {
        throw toStorageError(error, `reading ${keys.length} record(s) from IndexedDB`)
      }
    },

    async batch(ops: readonly StoreOp[]) {
      assertOpen()
      validateBatch(ops, true)
      if (ops.length === 0) return
      try {
        const tx = unwrap(db).transaction(['meta', 'values'], 'readwrite', { durability })
        const stores = { meta: tx.objectStore('meta'), values: tx.objectStore('values') }
        // Plain requests (see getMany): a failing one aborts the transaction, which rejects below.
        for (const op of ops) {
          if (op.type === 'put') stores[op.space].put(ownBytes(op.value), op.key)
          else if (op.type === 'delete') stores[op.space].delete(op.key)
          else stores[op.space].delete(IDBKeyRange.bound(op.after, op.before, true, true))
        }
        // No more requests: commit now rather than when this thread next idles. Without this the
        // commit waits for the worker's event loop, which a long OPFS compression can hold up.
        tx.commit?.()
        await transactionDone(tx)
      } catch (error) {
        throw toStorageError(error, `writing ${ops.length} op(s) to IndexedDB`)
      }
    },

    async scan(space: StoreSpace, scan: ScanOptions = {}) {
      assertOpen()
      const range = keyRange(scan)
      if (range === null) return []
      try {
        const store = db.transaction(space, 'readonly').store
        const [keys, values] = await Promise.all([store.getAllKeys(range, scan.limit ?? 1000), store.getAll(range, scan.limit ?? 1000)])
        return keys.map((key, i): [string, Uint8Array] => [key, values[i]!])
      } catch (error) {
        throw toStorageError(error, 'scanning IndexedDB')
      }
    },

    async keys(space: StoreSpace, scan: ScanOptions = {}) {
      assertOpen()
      const range = keyRange(scan)
      if (range === null) return []
      try {
        return await db.transaction(space, 'readonly').store.getAllKeys(range, scan.limit ?? 1000)
      } catch (error) {
        throw toStorageError(error, 'listing IndexedDB keys')
      }
    },

    /** Walks every record: for diagnostics, not for a loop. IndexedDB reports no per-store size. */
    async stats(): Promise<StoreStats> {
      assertOpen()
      let bytes = 0
      for (const space of ['meta', 'values'] as const) {
        let cursor = await db.transaction(space, 'readonly').store.openCursor()
        while (cursor) {
          bytes += cursor.value.byteLength
          cursor = await cursor.continue()
        }
      }
      return { storedBytes: bytes, logicalBytes: bytes, compressionRatio: 1, deadRatio: 0 }
    },

    async close() {
      if (closed) return
      closed = true
      db.close()
    },
  }
}

/** The key range of a scan: undefined for all keys, null for an empty range. */
function keyRange({ after, before }: ScanOptions): IDBKeyRange | undefined | null {
  if (after !== undefined && before !== undefined) return after < before ? IDBKeyRange.bound(after, before, true, true) : null
  if (after !== undefined) return IDBKeyRange.lowerBound(after, true)
  if (before !== undefined) return IDBKeyRange.upperBound(before, true)
  return undefined
}

/** Resolves when the transaction commits; rejects with its error when it aborts. */
function transactionDone(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve()
    rejectOnFailure(tx, reject)
  })
}

/** Resolves once every request has succeeded (requests of one transaction succeed in order); rejects if the transaction fails first. */
function requestsDone(tx: IDBTransaction, requests: readonly IDBRequest[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const last = requests[requests.length - 1]
    if (!last) return resolve()
    last.onsuccess = () => resolve()
    rejectOnFailure(tx, reject)
  })
}

function rejectOnFailure(tx: IDBTransaction, reject: (error: unknown) => void): void {
  // A failing request reaches onerror first (its own error; tx.error is set only at abort).
  tx.onerror = (event) => reject((event.target as IDBRequest | null)?.error ?? tx.error)
  tx.onabort = () => reject(tx.error ?? new DOMException('the transaction was aborted', 'AbortError'))
}

/** The bytes of a view, as their own buffer (a clone of a view would copy its whole buffer). */
function ownBytes(value: Uint8Array): Uint8Array {
  return value.byteOffset === 0 && value.byteLength === value.buffer.byteLength ? value : copyBytes(value)
}

/** Deletes a store's database (tests, "clear all data"). */
export async function deleteIndexedDbStore(database: string): Promise<void> {
  await deleteDB(database)
}

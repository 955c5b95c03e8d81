import { TiermemError } from '../core/api/errors.ts'
import type { Store } from '../core/store/store.ts'
import { compressedStore } from '../stores/compressed-store.ts'
import { openIndexedDbStore } from '../stores/indexeddb-store.ts'
import { openOpfsStore, type OpfsStoreOptions } from '../stores/opfs-store.ts'
import { opfsRecordFiles } from '../stores/opfs-record-file.ts'
import type { OpenedStores } from './memory-host.ts'

/** Database and directory names of a memory, so several memories of one origin never share files. */
export const storageNames = (name: string) => ({
  warm: `tiermem:${name}`,
  coldDirectory: `tiermem-${encodeURIComponent(name)}`,
  coldFallback: `tiermem:${name}:cold`,
})

/** How long an open waits for the name's lock before LOCKED: long enough for a reloaded page's old worker to go. */
const CLAIM_WAIT_MS = 1_000

/**
 * Claims a memory's name for this worker with a Web Lock, held until its stores close. Why: OPFS
 * sync access handles refuse a second opener, but the IndexedDB stores (warm, and cold where OPFS
 * is missing) would let two tabs write one memory's registry at once. Resolves to the release,
 * or undefined where Web Locks are missing (the OPFS handles are then the only guard).
 */
async function claimName(name: string): Promise<(() => void) | undefined> {
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks
  if (!locks) return undefined
  const lockName = `tiermem-open:${name}`
  const locked = (cause?: unknown) =>
    new TiermemError('LOCKED', `memory '${name}': another tab or worker has this memory open (it holds the Web Lock '${lockName}'); close it there first`, {
      cause,
    })
  return new Promise((resolve, reject) => {
    const hold = (lock: Lock | null) => (lock ? new Promise<void>((release) => resolve(release)) : undefined)
    locks
      .request(lockName, { signal: AbortSignal.timeout(CLAIM_WAIT_MS) }, hold)
      .catch((error: unknown) =>
        reject(error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError') ? locked(error) : error),
      )
  })
}

/** The stores, whose name lock is released once both have closed. */
function releasingOnClose(stores: OpenedStores, release: (() => void) | undefined): OpenedStores {
  if (!release) return stores
  let open = 2
  const wrap = (store: Store): Store => {
    const close = store.close.bind(store)
    store.close = async () => {
      try {
        await close()
      } finally {
        if (--open === 0) release()
      }
    }
    return store
  }
  return { ...stores, warm: wrap(stores.warm), cold: wrap(stores.cold) }
}

/**
 * The browser's stores: IndexedDB warm, OPFS cold through sync access handles. Where OPFS is
 * missing (older browsers, some private modes), cold falls back to deflated IndexedDB and
 * `stats().cold.backend` says 'indexeddb'. An OPFS store that exists but is locked by another
 * worker is an error, not a fallback: falling back would split one memory across two places.
 */
export async function openBrowserStores(name: string, opfs: Omit<OpfsStoreOptions, 'directory'> = {}): Promise<OpenedStores> {
  const names = storageNames(name)
  const release = await claimName(name)
  let warm: Store | undefined
  try {
    warm = await openIndexedDbStore({ database: names.warm })
    const hasOpfs =
      typeof navigator !== 'undefined' &&
      typeof navigator.storage?.getDirectory === 'function' &&
      typeof (globalThis as { FileSystemSyncAccessHandle?: unknown }).FileSystemSyncAccessHandle === 'function'
    const opfsStore = hasOpfs ? await openOpfsStore({ ...opfs, directory: names.coldDirectory }) : undefined
    const cold = opfsStore ?? compressedStore(await openIndexedDbStore({ database: names.coldFallback }))
    // The vector index's record files live beside the cold segments (the cold store ignores other files).
    return releasingOnClose(
      { warm, cold, ...(opfsStore ? { records: opfsRecordFiles(names.coldDirectory), deflate: opfsStore.deflate, inflate: opfsStore.inflate } : {}) },
      release,
    )
  } catch (error) {
    await warm?.close()
    release?.()
    throw error
  }
}

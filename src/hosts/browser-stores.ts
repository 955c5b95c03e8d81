import { compressedStore } from '../stores/compressed-store.ts'
import { openIndexedDbStore } from '../stores/indexeddb-store.ts'
import { openOpfsStore, type OpfsStoreOptions } from '../stores/opfs-store.ts'
import type { OpenedStores } from './memory-host.ts'

/** Database and directory names of a memory, so several memories of one origin never share files. */
export const storageNames = (name: string) => ({
  warm: `tiermem:${name}`,
  coldDirectory: `tiermem-${encodeURIComponent(name)}`,
  coldFallback: `tiermem:${name}:cold`,
})

/**
 * The browser's stores: IndexedDB warm, OPFS cold through sync access handles. Where OPFS is
 * missing (older browsers, some private modes), cold falls back to deflated IndexedDB and
 * `stats().cold.backend` says 'indexeddb'. An OPFS store that exists but is locked by another
 * worker is an error, not a fallback: falling back would split one memory across two places.
 */
export async function openBrowserStores(name: string, opfs: Omit<OpfsStoreOptions, 'directory'> = {}): Promise<OpenedStores> {
  const names = storageNames(name)
  const warm = await openIndexedDbStore({ database: names.warm })
  try {
    const hasOpfs =
      typeof navigator !== 'undefined' &&
      typeof navigator.storage?.getDirectory === 'function' &&
      typeof (globalThis as { FileSystemSyncAccessHandle?: unknown }).FileSystemSyncAccessHandle === 'function'
    const cold = hasOpfs
      ? await openOpfsStore({ ...opfs, directory: names.coldDirectory })
      : compressedStore(await openIndexedDbStore({ database: names.coldFallback }))
    return { warm, cold }
  } catch (error) {
    await warm.close()
    throw error
  }
}

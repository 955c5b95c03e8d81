import { describe, expect, it } from 'vitest'
import { createMemory } from '../../src/core/index.ts'
import { compressedStore } from '../../src/stores/compressed-store.ts'
import { deleteIndexedDbStore, openIndexedDbStore } from '../../src/stores/indexeddb-store.ts'
import type { Store } from '../../src/core/store/store.ts'
import { openBrowserStores } from '../../src/hosts/browser-stores.ts'
import { defineStoreContract } from '../contract/store-contract.ts'

const names = new WeakMap<Store, string>()
let counter = 0
defineStoreContract('compressedStore(IndexedDB) — the cold fallback', {
  async create() {
    const database = `fallback-contract-${Date.now()}-${counter++}`
    const store = compressedStore(await openIndexedDbStore({ database }))
    names.set(store, database)
    return store
  },
  reopen: async (store) => compressedStore(await openIndexedDbStore({ database: names.get(store)! })),
})

describe('where OPFS sync access handles are missing', () => {
  it('cold falls back to deflated IndexedDB, and stats().cold.backend says so', async () => {
    // The page's main thread has no FileSystemSyncAccessHandle (workers only): the real selection runs here.
    expect((globalThis as { FileSystemSyncAccessHandle?: unknown }).FileSystemSyncAccessHandle).toBeUndefined()
    const name = `fallback-${Date.now()}`
    const stores = await openBrowserStores(name)
    expect(stores.cold.backend).toBe('indexeddb')
    const mem = await createMemory({ stores, maintenanceIntervalMs: 0, policy: { defaultLayer: 'p', layers: { p: { eviction: 'lru_with_importance' } } } })
    const text = 'the user asked about trains to Porto on Sunday morning; '.repeat(40)
    await mem.put('note', { text }, { tier: 'cold' })
    expect(await mem.get('note')).toEqual({ text })
    const { cold } = await mem.stats()
    expect(cold.backend).toBe('indexeddb')
    expect(cold.compressionRatio).toBeLessThan(0.2)
    await mem.close()
    await deleteIndexedDbStore(`tiermem:${name}`)
    await deleteIndexedDbStore(`tiermem:${name}:cold`)
  })

  it('a second open of the same name fails with LOCKED while the first holds it, and succeeds once it closes', async () => {
    // Nothing in IndexedDB refuses a second opener: the name's Web Lock is the only guard here.
    const name = `fallback-twice-${Date.now()}`
    const first = await openBrowserStores(name)
    expect(first.cold.backend).toBe('indexeddb')
    await expect(openBrowserStores(name)).rejects.toMatchObject({
      code: 'LOCKED',
      message: expect.stringMatching(/another tab or worker has this memory open/),
    })
    await first.warm.close()
    await first.cold.close()
    const second = await openBrowserStores(name)
    await second.warm.close()
    await second.cold.close()
    await deleteIndexedDbStore(`tiermem:${name}`)
    await deleteIndexedDbStore(`tiermem:${name}:cold`)
  })
})

import { memoryStore, memoryStoreData, type MemoryStoreData } from '../../src/core/store/memory-store.ts'
import type { Store } from '../../src/core/store/store.ts'
import { defineStoreContract } from '../contract/store-contract.ts'

const data = new WeakMap<Store, MemoryStoreData>()

defineStoreContract('memoryStore', {
  async create() {
    const shared = memoryStoreData()
    const store = memoryStore({ data: shared })
    data.set(store, shared)
    return store
  },
  async reopen(store) {
    return memoryStore({ data: data.get(store)! })
  },
})

defineStoreContract('memoryStore (no shared data)', { create: async () => memoryStore() })

defineStoreContract('compressedStore(memoryStore)', {
  async create() {
    const { compressedStore } = await import('../../src/stores/compressed-store.ts')
    return compressedStore(memoryStore())
  },
})

import { describe, expect, it } from 'vitest'
import { deleteIndexedDbStore, openIndexedDbStore } from '../../src/stores/indexeddb-store.ts'
import type { Store } from '../../src/core/store/store.ts'
import { defineStoreContract } from '../contract/store-contract.ts'

const names = new WeakMap<Store, string>()
let counter = 0

defineStoreContract('IndexedDB (real Chromium)', {
  async create() {
    const database = `contract-${Date.now()}-${counter++}`
    await deleteIndexedDbStore(database)
    const store = await openIndexedDbStore({ database })
    names.set(store, database)
    return store
  },
  async reopen(store) {
    return openIndexedDbStore({ database: names.get(store)! })
  },
})

describe('IndexedDB store specifics', () => {
  it('upgrades an empty database to the current schema and reopens an existing one', async () => {
    const database = `schema-${Date.now()}`
    const store = await openIndexedDbStore({ database })
    await store.batch([{ type: 'put', space: 'values', key: 'k', value: new Uint8Array([1]) }])
    await store.close()
    const again = await openIndexedDbStore({ database })
    expect((await again.getMany('values', ['k']))[0]).toEqual(new Uint8Array([1]))
    await again.close()
    await deleteIndexedDbStore(database)
  })
})

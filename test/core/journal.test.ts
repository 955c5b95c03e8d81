import { describe, expect, it } from 'vitest'
import { createMemory } from '../../src/core/index.ts'
import { readStoredRegistry } from '../../src/core/journal.ts'
import { memoryStore, memoryStoreData } from '../../src/stores/memory-store.ts'
import { crashingStore, fakeClock, open, plainLayers } from './helpers.ts'

const metaKeys = (data: ReturnType<typeof memoryStoreData>) => [...data.spaces.meta.keys()].sort()

describe('registry journal', () => {
  it('writes one journal record per batch, not one per entry', async () => {
    const h = await open(plainLayers)
    await h.mem.putMany(Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: i })))
    expect(metaKeys(h.warm)).toEqual(['j:000000000001'])
    expect(h.warm.spaces.values.size).toBe(100)
    await h.mem.close()
  })

  it('checkpoints once the journal outgrows the registry, and reopens from snapshot + tail', async () => {
    const h = await open(plainLayers)
    for (let i = 0; i < 6; i++) await h.mem.putMany(Array.from({ length: 1000 }, (_, j) => ({ key: `k${i * 1000 + j}`, value: { n: i * 1000 + j } })))
    const keys = metaKeys(h.warm)
    expect(keys).toContain('checkpoint')
    // The 5th batch crossed the threshold (5,000 changes): 5,000 records in parts of 2,000 …
    expect(keys.filter((k) => k.startsWith('s:')).length).toBe(3)
    // … and the 6th batch is the journal's tail after it.
    expect(keys.filter((k) => k.startsWith('j:'))).toEqual(['j:000000000006'])
    await h.mem.delete('k5')
    await h.mem.put('k6000', { n: 6000 })
    await h.reopen()
    expect(await h.mem.get('k5')).toBeUndefined()
    expect(await h.mem.get('k6000')).toEqual({ n: 6000 })
    expect(await h.mem.getMany(['k0', 'k2999', 'k5999'])).toEqual([{ n: 0 }, { n: 2999 }, { n: 5999 }])
    expect((await h.mem.query({})).length).toBe(6000)
    await h.mem.close()
  })

  it('a crash at any batch of a checkpoint loses nothing and leaves no garbage after the next open', async () => {
    for (let live = 0; live < 8; live++) {
      const warm = memoryStoreData()
      const counter = { remaining: Number.POSITIVE_INFINITY }
      const mem = await createMemory({
        ...plainLayers, clock: fakeClock(), maintenanceIntervalMs: 0, pressure: { checkIntervalMs: 0 },
        stores: { warm: crashingStore(memoryStore({ data: warm }), counter) },
      })
      await mem.putMany(Array.from({ length: 3000 }, (_, i) => ({ key: `a${i}`, value: i })))
      counter.remaining = live
      // This putMany commits (one batch) and then crosses the checkpoint threshold (more batches).
      const acknowledged = await mem.putMany(Array.from({ length: 3000 }, (_, i) => ({ key: `b${i}`, value: i }))).then(() => true, () => false)
      await mem.close().catch(() => undefined)
      const reopened = await createMemory({ ...plainLayers, maintenanceIntervalMs: 0, stores: { warm: memoryStore({ data: warm }) } })
      expect(await reopened.get('a2999')).toBe(2999)
      if (acknowledged) expect(await reopened.getMany(['b0', 'b2999'])).toEqual([0, 2999])
      expect((await reopened.query({})).length).toBe(acknowledged ? 6000 : 3000)
      await reopened.close()
      const { garbage } = await readStoredRegistry(memoryStore({ data: warm }))
      expect(garbage).toEqual([])
    }
  })
})

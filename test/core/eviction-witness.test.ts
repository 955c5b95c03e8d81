import { describe, expect, it } from 'vitest'
import type { MemoryEvents, StorageWitness, WitnessRecord } from '../../src/core/index.ts'
import { memoryStoreData } from '../../src/core/store/memory-store.ts'
import { fakeClock, openOver } from './helpers.ts'

/** A witness in a variable: what a page's localStorage or an app's server would keep. */
function witnessIn(box: { record?: WitnessRecord }): StorageWitness {
  return {
    read: async () => box.record,
    write: async (record) => void (box.record = record),
  }
}

async function alertsOf(mem: Awaited<ReturnType<typeof openOver>>): Promise<Array<MemoryEvents['alert']>> {
  const alerts: Array<MemoryEvents['alert']> = []
  await mem.on('alert', (alert) => alerts.push(alert))
  await new Promise((resolve) => setTimeout(resolve, 0))
  return alerts
}

describe('eviction is told from a fresh start', () => {
  it('a new memory is fresh and raises nothing; reopening the same stores is neither fresh nor evicted', async () => {
    const clock = fakeClock()
    const box: { record?: WitnessRecord } = {}
    const warm = memoryStoreData()
    const cold = memoryStoreData()
    const mem = await openOver(warm, cold, clock, { witness: witnessIn(box) })
    expect(await alertsOf(mem)).toEqual([])
    const { storage } = await mem.stats()
    expect(storage).toMatchObject({ fresh: true, evicted: null })
    expect(box.record).toMatchObject({ incarnation: storage.incarnation, entries: 0 })
    await mem.put('a', 1)
    await mem.close()
    expect(box.record).toMatchObject({ incarnation: storage.incarnation, entries: 1 })

    const again = await openOver(warm, cold, clock, { witness: witnessIn(box) })
    expect((await again.stats()).storage).toMatchObject({ incarnation: storage.incarnation, fresh: false, evicted: null })
    expect(await alertsOf(again)).toEqual([])
    await again.close()
  })

  it("stores wiped behind the witness's back (what the browser does) raise a critical alert and fill stats().storage.evicted", async () => {
    const clock = fakeClock()
    const box: { record?: WitnessRecord } = {}
    const mem = await openOver(memoryStoreData(), memoryStoreData(), clock, { witness: witnessIn(box) })
    await mem.putMany([
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
    ])
    await mem.close()
    const before = box.record!
    clock.advance(60_000)

    // The browser evicted the origin's IndexedDB and OPFS: the memory opens over empty stores.
    const evicted = await openOver(memoryStoreData(), memoryStoreData(), clock, { witness: witnessIn(box) })
    const alerts = await alertsOf(evicted)
    expect(alerts).toHaveLength(1)
    expect(alerts[0]).toMatchObject({ name: 'storage-evicted', severity: 'critical', detail: { entriesThen: 2, previousIncarnation: before.incarnation } })
    const { storage } = await evicted.stats()
    expect(storage.fresh).toBe(true)
    expect(storage.evicted).toMatchObject({ entriesThen: 2, lastOpenedAt: before.lastOpenedAt, previousIncarnation: before.incarnation })
    // The witness now follows the new stores: the next open is a plain reopen, not a second alert.
    expect(box.record?.incarnation).toBe(storage.incarnation)
    await evicted.close()
  })

  it('a witness that fails costs the check, not the open', async () => {
    const failing: StorageWitness = {
      read: async () => {
        throw new Error('localStorage is disabled')
      },
      write: async () => {
        throw new Error('localStorage is disabled')
      },
    }
    const mem = await openOver(memoryStoreData(), memoryStoreData(), fakeClock(), { witness: failing })
    await mem.put('a', 1)
    expect(await mem.get('a')).toBe(1)
    expect((await alertsOf(mem)).map((a) => a.name)).toContain('witness-read-failed')
    await mem.close()
    await expect(openOver(memoryStoreData(), memoryStoreData(), fakeClock(), { witness: {} as never })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
  })
})

import { describe, expect, it } from 'vitest'
import { createMemory, type Memory } from '../../src/core/index.ts'
import { readStoredRegistry } from '../../src/core/persistence/journal.ts'
import { checkPlacement } from '../contract/placement.ts'
import { memoryStore, memoryStoreData, type MemoryStoreData } from '../../src/core/store/memory-store.ts'
import { crashingStore, DAY, fakeClock, MINUTE, open, plainLayers } from './helpers.ts'

describe('reopen', () => {
  it('reloads every entry with its metadata; hot entries come back warm', async () => {
    const h = await open(plainLayers)
    await h.mem.put('hot', { a: 1 }, { type: 'fact', importance: 0.7, tags: ['t'], taskId: 'task' })
    await h.mem.put('warm', [1, 2], { tier: 'warm' })
    await h.mem.put('cold', 'c', { tier: 'cold', evictable: false })
    await h.mem.retain('cold')
    for (let i = 0; i < 3; i++) await h.mem.get('hot')
    const before = await h.mem.getEntry('hot')
    await h.reopen()
    const after = await h.mem.getEntry('hot')
    expect(after).toEqual({ ...before, tier: 'warm' })
    expect(after?.accessCount).toBe(3)
    expect(await h.mem.getEntry('cold')).toMatchObject({ tier: 'cold', refCount: 1, evictable: false })
    expect(await h.mem.getMany(['hot', 'warm', 'cold'])).toEqual([{ a: 1 }, [1, 2], 'c'])
    await h.mem.close()
  })

  it('keeps idle timers and expiry across reopen', async () => {
    const h = await open(plainLayers)
    await h.mem.put('ttl', 1, { ttlMs: 1000 })
    await h.mem.put('idle', 2, { tier: 'warm' })
    await h.reopen()
    h.clock.advance(DAY + MINUTE)
    const stats = await h.mem.gc()
    expect(stats.expired).toBe(1)
    expect((await h.mem.getEntry('idle'))?.tier).toBe('cold')
    await h.mem.close()
  })

  it('opening lists cold keys without reading cold values (which would inflate the whole cold tier)', async () => {
    const h = await open(plainLayers)
    await h.mem.putMany(Array.from({ length: 50 }, (_, i) => ({ key: `c${i}`, value: i, tier: 'cold' as const })))
    await h.mem.close()
    const inner = memoryStore({ data: h.cold })
    const valueReads: string[] = []
    const cold = {
      ...inner,
      getMany: (space: 'meta' | 'values', keys: readonly string[]) => (valueReads.push(...keys), inner.getMany(space, keys)),
      scan: (space: 'meta' | 'values', options?: { after?: string; limit?: number }) => (valueReads.push(`scan:${space}`), inner.scan(space, options)),
    }
    const mem = await createMemory({ ...plainLayers, maintenanceIntervalMs: 0, stores: { warm: memoryStore({ data: h.warm }), cold } })
    expect(valueReads).toEqual([])
    expect(await mem.get('c7')).toBe(7)
    await mem.close()
  })

  it('sweeps cold records that no entry names (leftovers of an interrupted move)', async () => {
    const h = await open(plainLayers)
    await h.mem.put('c', 1, { tier: 'cold' })
    h.cold.spaces.values.set('default\u0000ghost', new Uint8Array([1]))
    await h.reopen()
    expect([...h.cold.spaces.values.keys()]).toEqual(['default\u0000c'])
    await h.mem.close()
  })
})

/** Every durable entry is readable from exactly the one place its metadata names. */
async function checkStoredPlacement(warm: MemoryStoreData, cold: MemoryStoreData): Promise<void> {
  const { records } = await readStoredRegistry(memoryStore({ data: warm }))
  checkPlacement(records, warm.spaces.values, new Set(cold.spaces.values.keys()))
}

type Expectation = { known: true; value: unknown } | { known: false; either: unknown[] }
const GONE = Symbol('gone')

describe('crash safety', () => {
  it('a crash after any number of store batches loses no acknowledged write and resurrects no delete', async () => {
    let crashPoints = 0
    for (let liveBatches = 0; ; liveBatches++) {
      const warm = memoryStoreData()
      const cold = memoryStoreData()
      const clock = fakeClock()
      const counter = { remaining: Number.POSITIVE_INFINITY }
      const mem = await createMemory({
        ...plainLayers,
        clock,
        maintenanceIntervalMs: 0,
        pressure: { checkIntervalMs: 0 },
        stores: { warm: crashingStore(memoryStore({ data: warm }), counter), cold: crashingStore(memoryStore({ data: cold }), counter) },
      })
      const expected = new Map<string, Expectation>()
      const settle = async (key: string, next: unknown, op: Promise<unknown>) => {
        const prior = expected.get(key)
        const previous = prior === undefined ? [GONE] : prior.known ? [prior.value] : prior.either
        try {
          await op
          expected.set(key, { known: true, value: next })
        } catch {
          expected.set(key, { known: false, either: [...previous, next] })
        }
      }
      // Set-up that always succeeds: entries in every tier.
      for (let i = 0; i < 12; i++) await settle(`k${i}`, { i, v: 0 }, mem.put(`k${i}`, { i, v: 0 }, { tier: (['hot', 'warm', 'cold'] as const)[i % 3] }))
      counter.remaining = liveBatches
      // The workload that gets cut: moves both ways, overwrites, deletes, expiry and idle demotion.
      const ops: Array<Promise<unknown>> = []
      for (let i = 0; i < 12; i += 2) ops.push(mem.demote(`k${i}`).catch(() => {}))
      for (let i = 1; i < 12; i += 3) ops.push(mem.promote(`k${i}`).catch(() => {}))
      for (let i = 0; i < 12; i += 4) ops.push(settle(`k${i}`, { i, v: 1 }, mem.put(`k${i}`, { i, v: 1 }, { tier: i % 8 === 0 ? 'cold' : 'warm' })))
      for (let i = 3; i < 12; i += 4) ops.push(settle(`k${i}`, GONE, mem.delete(`k${i}`)))
      // A batch packed into a warm page, then one of its entries replaced and one deleted.
      const paged = Array.from({ length: 4 }, (_, j) => ({ key: `p${j}`, value: { j, v: 0 } }))
      const bulk = mem.putMany(paged)
      for (const { key, value } of paged) ops.push(settle(key, value, bulk))
      ops.push(bulk.catch(() => {}).then(() => settle('p1', { j: 1, v: 1 }, mem.put('p1', { j: 1, v: 1 }))))
      ops.push(bulk.catch(() => {}).then(() => settle('p2', GONE, mem.delete('p2'))))
      ops.push(
        settle(
          'ttl',
          GONE,
          mem.put('ttl', 'short', { ttlMs: 10 }).then(() => {
            clock.advance(DAY)
            return mem.gc()
          }),
        ),
      )
      await Promise.all(ops)
      const crashed = counter.remaining < 0
      await mem.close().catch(() => {})

      const reopened: Memory = await createMemory({
        ...plainLayers,
        clock,
        maintenanceIntervalMs: 0,
        stores: { warm: memoryStore({ data: warm }), cold: memoryStore({ data: cold }) },
      })
      for (const [key, expectation] of expected) {
        if (key === 'ttl') continue
        const got = (await reopened.has(key)) ? await reopened.get(key) : GONE
        if (expectation.known) expect(got, `${key} after crash at batch ${liveBatches}`).toEqual(expectation.value)
        else expect(expectation.either, `${key} after crash at batch ${liveBatches}`).toContainEqual(got)
      }
      await checkStoredPlacement(warm, cold)
      await reopened.close()
      if (!crashed) break
      crashPoints++
    }
    expect(crashPoints).toBeGreaterThan(5)
  })
})

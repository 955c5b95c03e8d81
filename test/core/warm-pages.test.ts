import { describe, expect, it } from 'vitest'
import { arrayToRecord } from '../../src/core/registry/entry-record.ts'
import fc from 'fast-check'
import { PAGE_BYTES, PAGE_VALUE_MAX, PageTable, pageKey, parsePageKey } from '../../src/core/persistence/warm-pages.ts'
import { FIRST_CHUNK, MOVE_CHUNK } from '../../src/core/lifecycle/tier-moves.ts'
import type { EngineContext } from '../../src/core/engine/engine-context.ts'
import { Registry } from '../../src/core/registry/registry.ts'
import { readWarm } from '../../src/core/persistence/warm-values.ts'
import { createMemory } from '../../src/core/index.ts'
import { readStoredRegistry } from '../../src/core/persistence/journal.ts'
import { checkPlacement } from '../contract/placement.ts'
import { memoryStore, memoryStoreData } from '../../src/core/store/memory-store.ts'
import type { Store } from '../../src/core/store/store.ts'
import { open, plainLayers } from './helpers.ts'
import type { MemoryStoreData } from '../../src/core/store/memory-store.ts'

const pageKeys = (data: MemoryStoreData) => [...data.spaces.values.keys()].filter((key) => parsePageKey(key) !== undefined)
const aloneKeys = (data: MemoryStoreData) => [...data.spaces.values.keys()].filter((key) => parsePageKey(key) === undefined)
const items = (n: number, prefix = 'k', version = 0) =>
  Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, value: { i, version, text: 'x'.repeat(200) } }))

describe('warm pages', () => {
  it('packs the small values of one batch into pages of at most PAGE_BYTES, and reads them back after reopen', async () => {
    const h = await open(plainLayers)
    const batch = items(400)
    await h.mem.putMany(batch.map((item) => ({ ...item, tier: 'warm' as const })))
    const pages = pageKeys(h.warm)
    expect(aloneKeys(h.warm)).toEqual([])
    expect(pages.length).toBeGreaterThan(1)
    expect(pages.length).toBeLessThan(20)
    for (const key of pages) expect(h.warm.spaces.values.get(key)!.byteLength).toBeLessThanOrEqual(PAGE_BYTES)
    expect(await h.mem.get('k7')).toEqual(batch[7]!.value)
    await h.reopen()
    expect(await h.mem.getMany(batch.map((item) => item.key))).toEqual(batch.map((item) => item.value))
    expect((await h.mem.getEntry('k399'))!.tier).toBe('warm')
    await h.mem.close()
  })

  it('stores a lone put and a value over PAGE_VALUE_MAX alone', async () => {
    const h = await open(plainLayers)
    await h.mem.put('lone', { a: 1 })
    const big = 'y'.repeat(PAGE_VALUE_MAX + 1)
    await h.mem.putMany([
      { key: 'big', value: big },
      { key: 's1', value: 1 },
      { key: 's2', value: 2 },
    ])
    expect(aloneKeys(h.warm).sort()).toEqual(['default\u0000big', 'default\u0000lone'])
    expect(pageKeys(h.warm)).toHaveLength(1)
    await h.reopen()
    expect(await h.mem.getMany(['lone', 'big', 's1', 's2'])).toEqual([{ a: 1 }, big, 1, 2])
    await h.mem.close()
  })

  it('keeps a page while any entry names it, and deletes it with the last one', async () => {
    const h = await open(plainLayers)
    await h.mem.putMany(items(5))
    expect(pageKeys(h.warm)).toHaveLength(1)
    await h.mem.put('k0', 'replaced')
    await h.mem.delete('k1')
    await h.mem.evict('k2')
    expect(pageKeys(h.warm)).toHaveLength(1)
    expect(await h.mem.getMany(['k0', 'k1', 'k3', 'k4'])).toEqual(['replaced', undefined, items(5)[3]!.value, items(5)[4]!.value])
    await h.mem.delete('k3')
    await h.mem.delete('k4')
    expect(pageKeys(h.warm)).toEqual([])
    expect(aloneKeys(h.warm)).toEqual(['default\u0000k0'])
    await h.reopen()
    expect(await h.mem.get('k0')).toBe('replaced')
    await h.mem.close()
  })

  it('a paged entry replaced by a batch drops its old alone value; one replaced alone drops nothing else', async () => {
    const h = await open(plainLayers)
    await h.mem.put('a', 'alone')
    await h.mem.putMany([
      { key: 'a', value: 'paged' },
      { key: 'b', value: 'paged too' },
    ])
    expect(aloneKeys(h.warm)).toEqual([])
    await h.mem.put('b', 'alone again')
    expect(aloneKeys(h.warm)).toEqual(['default\u0000b'])
    expect(pageKeys(h.warm)).toHaveLength(1)
    await h.reopen()
    expect(await h.mem.getMany(['a', 'b'])).toEqual(['paged', 'alone again'])
    await h.mem.close()
  })

  it('moves paged entries to cold and deletes the emptied pages', async () => {
    const h = await open(plainLayers)
    const batch = items(300)
    await h.mem.putMany(batch.map((item) => ({ ...item, tier: 'warm' as const })))
    for (const { key } of batch.slice(0, 150)) await h.mem.demote(key)
    await h.mem.putMany(items(200, 'c').map((item) => ({ ...item, tier: 'cold' as const })))
    expect(pageKeys(h.warm).length).toBeGreaterThan(0)
    await h.mem.configure({ policy: { warmIdleMs: 0 } })
    h.clock.advance(1)
    await h.mem.gc()
    expect((await h.mem.stats()).tiers.warm.count).toBe(0)
    expect(h.warm.spaces.values.size).toBe(0)
    await h.reopen()
    expect(await h.mem.get('k299')).toEqual(batch[299]!.value)
    expect(await h.mem.get('c5')).toEqual(items(200, 'c')[5]!.value)
    await h.mem.close()
  })

  it('readWarm reads a shared page once and copies values out of it when asked (a kept value must not pin its page)', async () => {
    const warm = memoryStore()
    const reg = new Registry()
    const page = Uint8Array.from([1, 2, 3, 4, 5, 6])
    const key = pageKey(7, page.byteLength)
    await warm.batch([
      { type: 'put', space: 'values', key, value: page },
      { type: 'put', space: 'values', key: 'default\u0000alone', value: Uint8Array.from([9]) },
    ])
    reg.pages.add(7, key, page.byteLength)
    const slots = [
      ['a', 0, 2],
      ['b', 2, 4],
    ].map(([name, offset, size]) => {
      const slot = reg.allocate('default', name as string)
      reg.sizeBytes[slot] = size as number
      reg.setLocation(slot, 7, offset as number)
      return slot
    })
    slots.push(reg.allocate('default', 'alone'))
    const reads: string[] = []
    const ctx = {
      reg,
      warm: { ...warm, getMany: (space: 'meta' | 'values', keys: readonly string[]) => (reads.push(...keys), warm.getMany(space, keys)) },
    } as unknown as EngineContext
    const copied = await readWarm(ctx, slots, true)
    expect(reads).toEqual([key, 'default\u0000alone'])
    expect(copied.map((bytes) => [...bytes!])).toEqual([[1, 2], [3, 4, 5, 6], [9]])
    expect(copied[1]!.buffer.byteLength).toBe(4)
    const views = await readWarm(ctx, slots.slice(0, 2), false)
    expect(views[0]!.buffer).toBe(views[1]!.buffer)
    expect(reg.pages.totals()).toEqual({ bytes: 6, deadBytes: 0 })
    reg.clearLocation(slots[0]!)
    expect(reg.pages.totals()).toEqual({ bytes: 6, deadBytes: 2 })
  })

  it('deletes at open a page no record names (a crash after its last entry left) and keeps the others', async () => {
    const h = await open(plainLayers)
    await h.mem.putMany(items(3))
    const [named] = pageKeys(h.warm)
    h.warm.spaces.values.set(pageKey(999, 10), new Uint8Array(10))
    await h.reopen()
    expect(pageKeys(h.warm)).toEqual([named])
    // New pages never reuse an id seen in the store.
    await h.mem.putMany(items(3, 'n'))
    expect(
      pageKeys(h.warm)
        .map((key) => parsePageKey(key)!.id)
        .sort((a, b) => a - b),
    ).toEqual([1, 1000])
    await h.mem.close()
  })

  it('an entry whose page is missing fails with CORRUPT; its neighbours in other pages still read', async () => {
    const h = await open(plainLayers)
    await h.mem.putMany(items(3))
    await h.mem.putMany(items(3, 'm'))
    const [first] = pageKeys(h.warm).sort()
    h.warm.spaces.values.delete(first!)
    await h.reopen()
    await expect(h.mem.get('k1')).rejects.toMatchObject({ code: 'CORRUPT' })
    expect(await h.mem.get('m1')).toEqual(items(3, 'm')[1]!.value)
    await h.mem.close()
  })
})

describe('warm page compaction', () => {
  it('gc rewrites a page once most of it is dead: survivors move to a new page, the old one goes', async () => {
    const h = await open(plainLayers)
    const batch = items(20)
    await h.mem.putMany(batch)
    const [old] = pageKeys(h.warm)
    for (let i = 0; i < 15; i++) await h.mem.put(`k${i}`, `new ${i}`)
    const before = await h.mem.stats()
    expect(before.warm.pages).toBe(1)
    expect(before.warm.deadBytes / before.warm.bytes).toBeGreaterThan(0.5)
    const gc = await h.mem.gc()
    expect(gc.compactedPages).toBe(1)
    expect(pageKeys(h.warm)).toHaveLength(1)
    expect(pageKeys(h.warm)).not.toContain(old)
    expect((await h.mem.stats()).warm).toMatchObject({ pages: 1, deadBytes: 0 })
    expect((await h.mem.gc()).compactedPages).toBe(0)
    await h.reopen()
    expect(await h.mem.getMany(batch.map((item) => item.key))).toEqual(batch.map((item, i) => (i < 15 ? `new ${i}` : item.value)))
    await h.mem.close()
  })

  it('a lone survivor is stored alone', async () => {
    const h = await open(plainLayers)
    await h.mem.putMany(items(10))
    for (let i = 1; i < 10; i++) await h.mem.delete(`k${i}`)
    expect((await h.mem.gc()).compactedPages).toBe(1)
    expect(pageKeys(h.warm)).toEqual([])
    expect(aloneKeys(h.warm)).toEqual(['default\u0000k0'])
    await h.reopen()
    expect(await h.mem.get('k0')).toEqual(items(10)[0]!.value)
    await h.mem.close()
  })

  it('a compaction that fails leaves every entry readable, reports an alert, and is retried after reopen', async () => {
    const warm = memoryStoreData()
    const counter = { remaining: Number.POSITIVE_INFINITY }
    const options = { ...plainLayers, maintenanceIntervalMs: 0, pressure: { checkIntervalMs: 0 } }
    const mem = await createMemory({ ...options, stores: { warm: failingOnce(memoryStore({ data: warm }), counter), cold: memoryStore() } })
    const alerts: string[] = []
    await mem.on('alert', (alert) => alerts.push(alert.name))
    await mem.putMany(items(10))
    for (let i = 0; i < 8; i++) await mem.delete(`k${i}`)
    counter.remaining = 0
    expect((await mem.gc()).compactedPages).toBe(0)
    expect(alerts).toContain('warm-page-compaction-failed')
    expect(await mem.getMany(['k8', 'k9'])).toEqual([items(10)[8]!.value, items(10)[9]!.value])
    await mem.close()
    const reopened = await createMemory({ ...options, stores: { warm: memoryStore({ data: warm }), cold: memoryStore() } })
    expect((await reopened.gc()).compactedPages).toBe(1)
    expect(await reopened.getMany(['k8', 'k9'])).toEqual([items(10)[8]!.value, items(10)[9]!.value])
    await reopened.close()
  })
})

/** A store whose next batch fails once when counter.remaining is 0. */
function failingOnce(inner: Store, counter: { remaining: number }): Store {
  return {
    ...inner,
    batch: (ops) => {
      if (counter.remaining === 0) {
        counter.remaining = Number.POSITIVE_INFINITY
        return Promise.reject(new Error('simulated write failure'))
      }
      return inner.batch(ops)
    },
  }
}

describe('entry records', () => {
  it('reads version 1 records (values stored alone, no page fields)', () => {
    const v1 = [1, 'k', 'default', 'context', 'plain', 1, 0.5, 0.5, 1, 2, 3, 10, null, null, null, null, 3, 0, 11, 22]
    expect(arrayToRecord(v1)).toMatchObject({ key: 'k', tier: 1, sizeBytes: 10, hashHi: 11, hashLo: 22, page: 0, pageOffset: 0 })
    expect(() => arrayToRecord([1, ...v1.slice(1), 0, 0])).toThrow(/unknown layout/)
  })
})

describe('warm → cold moves in several chunks', () => {
  it('a cold store failing mid-move leaves moved chunks cold, the rest warm, everything readable and in one place', async () => {
    const warm = memoryStoreData()
    const coldData = memoryStoreData()
    const cold = memoryStore({ data: coldData })
    let coldBatches = 0
    const failingCold: Store = { ...cold, batch: (ops) => (++coldBatches === 2 ? Promise.reject(new Error('disk gone')) : cold.batch(ops)) }
    const options = { ...plainLayers, maintenanceIntervalMs: 0, pressure: { checkIntervalMs: 0 } }
    const mem = await createMemory({ ...options, stores: { warm: memoryStore({ data: warm }), cold: failingCold } })
    const batch = items(2500)
    await mem.putMany(batch.map((item) => ({ ...item, tier: 'warm' as const })))
    await mem.configure({ policy: { warmIdleMs: 0 } })
    await expect(mem.gc()).rejects.toThrow(/disk gone/)
    const stats = await mem.stats()
    // The first chunk moved before the second's cold write failed.
    expect(stats.tiers.cold.count).toBe(FIRST_CHUNK)
    expect(stats.tiers.warm.count).toBe(2500 - FIRST_CHUNK)
    expect(await mem.getMany(batch.map((item) => item.key))).toEqual(batch.map((item) => item.value))
    await mem.close()
    const reopened = await createMemory({ ...options, stores: { warm: memoryStore({ data: warm }), cold: memoryStore({ data: coldData }) } })
    expect(await reopened.getMany(batch.map((item) => item.key))).toEqual(batch.map((item) => item.value))
    await reopened.close()
    const { records } = await readStoredRegistry(memoryStore({ data: warm }))
    checkPlacement(records, warm.spaces.values, new Set(coldData.spaces.values.keys()))
  })
})

describe('a move and the reads that arrive while it runs', () => {
  it('a read that arrives during a move is answered between its chunks, not after the whole move', async () => {
    const h = await open(plainLayers)
    await h.mem.put('hot', 'answer')
    await h.mem.putMany(items(3 * MOVE_CHUNK).map((item) => ({ ...item, tier: 'warm' as const })))
    await h.mem.configure({ policy: { warmIdleMs: 0 } })
    // The memory stores answer at once: without a turn of the event loop between its steps, a
    // move of several chunks runs to the end before any other task gets in.
    let moved = false
    const moving = h.mem.gc().then(() => (moved = true))
    const answeredMidMove = await new Promise<boolean>((resolve) => setTimeout(() => void h.mem.get('hot').then(() => resolve(!moved)), 0))
    await moving
    expect(answeredMidMove).toBe(true)
    expect((await h.mem.stats()).tiers.cold.count).toBe(3 * MOVE_CHUNK)
    await h.mem.close()
  })
})

describe('emptied pages', () => {
  it('are deleted as ranges of consecutive ids, never touching a live page between them', async () => {
    const warm = memoryStoreData()
    const inner = memoryStore({ data: warm })
    const ranges: string[] = []
    const spy: Store = {
      ...inner,
      batch: (ops) => {
        for (const op of ops) if (op.type === 'deleteRange') ranges.push(`${parsePageKey(op.after + '.0')!.id}..${parsePageKey(op.before + '.0')!.id}`)
        return inner.batch(ops)
      },
    }
    let now = 1_000_000
    const mem = await createMemory({
      ...plainLayers,
      clock: { now: () => now },
      maintenanceIntervalMs: 0,
      pressure: { checkIntervalMs: 0 },
      stores: { warm: spy, cold: memoryStore() },
    })
    // 7 KiB values: four to a page. Per batch of 12: pages of items 0–3, 4–7 (expiring) and 8–11 (kept).
    const value = (n: number) => ({ n, text: 'z'.repeat(7 * 1024 - 20) })
    for (const batch of ['a', 'b']) {
      await mem.putMany(
        Array.from({ length: 12 }, (_, i) => ({ key: `${batch}${i}`, value: value(i), tier: 'warm' as const, ...(i < 8 ? { ttlMs: 1000 } : {}) })),
      )
    }
    expect(pageKeys(warm).map((key) => parsePageKey(key)!.id)).toEqual([1, 2, 3, 4, 5, 6])
    now += 2000
    expect((await mem.gc()).expired).toBe(16)
    expect(ranges).toEqual(['1..3', '4..6']) // exclusive bounds: pages 1–2 and 4–5
    expect(pageKeys(warm).map((key) => parsePageKey(key)!.id)).toEqual([3, 6])
    expect(await mem.getMany(['a8', 'a11', 'b9'])).toEqual([value(8), value(11), value(9)])
    await mem.close()
  })
})

describe('a page emptied by a change', () => {
  /** A memory whose warm batches are recorded as 'type space' (pages named 'page'). */
  const watchedBatches = async () => {
    const warm = memoryStoreData()
    const inner = memoryStore({ data: warm })
    const batches: string[][] = []
    const spy: Store = {
      ...inner,
      batch: (ops) => (batches.push(ops.map((op) => `${op.type} ${'key' in op && parsePageKey(op.key) ? 'page' : op.space}`)), inner.batch(ops)),
    }
    const mem = await createMemory({ ...plainLayers, maintenanceIntervalMs: 0, pressure: { checkIntervalMs: 0 }, stores: { warm: spy, cold: memoryStore() } })
    return { warm, batches, mem }
  }

  it('is deleted in the same batch as the change that empties it', async () => {
    const { warm, batches, mem } = await watchedBatches()
    await mem.putMany(items(3))
    await mem.delete('k0')
    await mem.delete('k1')
    batches.length = 0
    await mem.delete('k2')
    expect(batches).toEqual([['delete page', 'put meta']]) // one batch: the page delete and the journal record
    expect(pageKeys(warm)).toEqual([])
    await mem.close()
  })

  it('is deleted in the same batch when a batch replaces all its entries', async () => {
    const { warm, batches, mem } = await watchedBatches()
    await mem.putMany(items(3))
    const [old] = pageKeys(warm)
    batches.length = 0
    await mem.putMany(items(3, 'k', 1))
    expect(batches).toEqual([['put page', 'delete page', 'put meta']])
    expect(pageKeys(warm)).toHaveLength(1)
    expect(pageKeys(warm)).not.toContain(old)
    expect(await mem.get('k2')).toEqual(items(3, 'k', 1)[2]!.value)
    await mem.close()
  })
})

describe('the page table', () => {
  it('keeps its byte totals equal to a recount of every page, whatever the order of changes', () => {
    type Op =
      | { kind: 'add'; bytes: number }
      | { kind: 'place' | 'release'; page: number; size: number }
      | { kind: 'forget'; page: number }
      | { kind: 'takeEmpty' }
      | { kind: 'restoreTaken' }
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), bytes: fc.integer({ min: 1, max: PAGE_BYTES }) }),
      fc.record({ kind: fc.constantFrom('place' as const, 'release' as const), page: fc.integer({ min: 1, max: 8 }), size: fc.integer({ min: 1, max: 4096 }) }),
      fc.record({ kind: fc.constant('forget' as const), page: fc.integer({ min: 1, max: 8 }) }),
      fc.constant({ kind: 'takeEmpty' as const }),
      fc.constant({ kind: 'restoreTaken' as const }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const table = new PageTable()
        // The model: what each page holds, recounted from scratch after every step.
        const model = new Map<number, { bytes: number; live: number; sizes: number[] }>()
        let taken: Array<{ id: number; key: string; bytes: number }> = []
        for (const step of ops) {
          if (step.kind === 'add') {
            const id = table.allocateId()
            table.add(id, pageKey(id, step.bytes), step.bytes)
            model.set(id, { bytes: step.bytes, live: 0, sizes: [] })
          } else if (step.kind === 'place') {
            table.place(step.page, step.size)
            const page = model.get(step.page) ?? { bytes: 0, live: 0, sizes: [] }
            page.live += step.size
            page.sizes.push(step.size)
            model.set(step.page, page)
          } else if (step.kind === 'release') {
            // Only what was placed is released (the registry's rule).
            const page = model.get(step.page)
            const size = page?.sizes.pop()
            if (page === undefined || size === undefined) continue
            table.release(step.page, size)
            page.live -= size
          } else if (step.kind === 'forget') {
            table.forget([step.page])
            if (model.get(step.page)?.sizes.length === 0) model.delete(step.page)
          } else if (step.kind === 'takeEmpty') {
            taken = table.takeEmpty()
            // Every page nothing names goes; those found in the store (a key, so bytes) come back to be deleted.
            const empty = [...model].filter(([, page]) => page.sizes.length === 0)
            expect(taken.map((page) => page.id).sort()).toEqual(
              empty
                .filter(([, page]) => page.bytes > 0)
                .map(([id]) => id)
                .sort(),
            )
            for (const [id] of empty) model.delete(id)
          } else {
            table.restore(taken)
            for (const page of taken) if (!model.has(page.id)) model.set(page.id, { bytes: page.bytes, live: 0, sizes: [] })
            taken = []
          }
          let bytes = 0
          let live = 0
          for (const page of model.values()) {
            bytes += page.bytes
            live += Math.min(page.live, page.bytes)
          }
          expect(table.totals()).toEqual({ bytes, deadBytes: bytes - live })
        }
      }),
    )
  })
})

import { describe, expect, it } from 'vitest'
import { createMemory } from '../../src/core/index.ts'
import { readStoredRegistry } from '../../src/core/persistence/journal.ts'
import { memoryStore, memoryStoreData } from '../../src/core/store/memory-store.ts'
import { crashingStore, fakeClock, open, plainLayers } from './helpers.ts'

/** The registry's meta records (the stores' incarnation, written with the first chunk, is not the registry's). */
const metaKeys = (data: ReturnType<typeof memoryStoreData>) => [...data.spaces.meta.keys()].filter((k) => k !== 'incarnation').sort()

describe('registry journal', () => {
  it('writes one journal record per batch, not one per entry', async () => {
    const h = await open(plainLayers)
    await h.mem.putMany(Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: i })))
    expect(metaKeys(h.warm)).toEqual(['j:000000000001'])
    // …and the 100 small values share one warm page (see warm-pages.test.ts).
    expect(h.warm.spaces.values.size).toBe(1)
    await h.mem.close()
  })

  it('a bulk load is journaled once, with no checkpoint: a journal of inserts is as compact as a snapshot', async () => {
    const h = await open(plainLayers)
    for (let i = 0; i < 6; i++) await h.mem.putMany(Array.from({ length: 1000 }, (_, j) => ({ key: `k${i * 1000 + j}`, value: j })))
    expect(metaKeys(h.warm).every((k) => k.startsWith('j:'))).toBe(true)
    await h.mem.close()
  })

  it('checkpoints once updates make the journal outgrow the registry, and reopens from snapshot + tail', async () => {
    const h = await open(plainLayers)
    const write = (version: number) => h.mem.putMany(Array.from({ length: 3000 }, (_, j) => ({ key: `k${j}`, value: { n: j, version } })))
    await write(1)
    await write(2) // 6,000 changes for 3,000 entries: over the threshold (max(5,000, entries))
    await h.mem.flush() // the checkpoint runs after the put has answered
    const keys = metaKeys(h.warm)
    expect(keys).toContain('checkpoint')
    expect(keys.filter((k) => k.startsWith('s:')).length).toBe(2) // 3,000 records in parts of 2,000
    expect(keys.filter((k) => k.startsWith('j:'))).toEqual([]) // folded into the snapshot
    await h.mem.delete('k5')
    await h.mem.put('k3000', { n: 3000, version: 3 })
    await h.mem.flush()
    expect(metaKeys(h.warm).filter((k) => k.startsWith('j:'))).toHaveLength(2) // the tail after it
    await h.reopen()
    expect(await h.mem.get('k5')).toBeUndefined()
    expect(await h.mem.get('k3000')).toEqual({ n: 3000, version: 3 })
    expect(await h.mem.getMany(['k0', 'k2999'])).toEqual([
      { n: 0, version: 2 },
      { n: 2999, version: 2 },
    ])
    expect((await h.mem.query({})).length).toBe(3000)
    await h.mem.close()
  })

  it('replays deletes, re-puts, overwrites and releases into the registry the store describes', async () => {
    const h = await open(plainLayers)
    await h.mem.putMany(Array.from({ length: 6 }, (_, i) => ({ key: `k${i}`, value: { i, text: 'x'.repeat(300) } })))
    await h.mem.delete('k1')
    await h.mem.put('k1', { i: 1, again: true }) // a new slot for an old key (k1's first is free)
    await h.mem.delete('k2') // k2's slot is taken by the next new key
    await h.mem.put('k6', { i: 6 })
    await h.mem.put('k3', { big: 'y'.repeat(9000) }) // leaves its page for a value stored alone
    await h.mem.retain('k4')
    await h.mem.release('k4') // released: an orphan, removed by the next gc
    await h.mem.retain('k5')
    await h.mem.release('k5')
    await h.mem.retain('k5') // held again: not an orphan
    // Hot entries come back warm (the hot copy is memory only).
    const before = { stats: (await h.mem.stats()).warm, entries: (await h.mem.query({})).map((e) => ({ ...e, tier: e.tier === 'hot' ? 'warm' : e.tier })) }
    expect(metaKeys(h.warm).every((k) => k.startsWith('j:'))).toBe(true) // all of it is journal, no checkpoint
    await h.reopen()
    expect((await h.mem.stats()).warm).toEqual(before.stats)
    expect(await h.mem.query({})).toEqual(before.entries)
    expect(await h.mem.getMany(['k0', 'k1', 'k2', 'k3', 'k5', 'k6'])).toEqual([
      { i: 0, text: 'x'.repeat(300) },
      { i: 1, again: true },
      undefined,
      { big: 'y'.repeat(9000) },
      { i: 5, text: 'x'.repeat(300) },
      { i: 6 },
    ])
    const { records } = await readStoredRegistry(memoryStore({ data: h.warm }))
    expect([...records.values()].map((r) => r.key).sort()).toEqual(before.entries.map((e) => e.key).sort())
    const seen = h.events.evicted.length
    await h.mem.gc()
    expect(h.events.evicted.slice(seen).map((e) => `${e.key}:${e.reason}`)).toEqual(['k4:orphaned'])
    await h.mem.close()
  })

  // 3,000 entries: the snapshot's two parts in one batch. 20,000: ten parts, written in two
  // batches, so a crash can also fall between two batches of one checkpoint.
  for (const [entries, cuts] of [
    [3_000, 8],
    [20_000, 5],
  ] as const) {
    it(`a crash at any batch of a checkpoint loses nothing and leaves no garbage after the next open (${entries.toLocaleString('en')} entries)`, async () => {
      let checkpointsCut = 0
      let betweenParts = 0
      for (let live = 0; live < cuts; live++) {
        const warm = memoryStoreData()
        const counter = { remaining: Number.POSITIVE_INFINITY }
        const mem = await createMemory({
          ...plainLayers,
          clock: fakeClock(),
          maintenanceIntervalMs: 0,
          pressure: { checkIntervalMs: 0 },
          stores: { warm: crashingStore(memoryStore({ data: warm }), counter) },
        })
        await mem.putMany(Array.from({ length: entries }, (_, i) => ({ key: `a${i}`, value: i })))
        counter.remaining = live
        // Overwriting every entry commits and then crosses the checkpoint threshold (twice as many
        // changes as entries): the checkpoint's batches follow.
        const acknowledged = await mem.putMany(Array.from({ length: entries }, (_, i) => ({ key: `a${i}`, value: -i }))).then(
          () => true,
          () => false,
        )
        await mem.close().catch(() => undefined)
        // Parts written, pointer not flipped: the cut came inside the checkpoint's parts.
        if (metaKeys(warm).some((k) => k.startsWith('s:00000001:')) && !metaKeys(warm).includes('checkpoint')) betweenParts++
        const reopened = await createMemory({ ...plainLayers, maintenanceIntervalMs: 0, stores: { warm: memoryStore({ data: warm }) } })
        const got = await reopened.getMany(['a1', `a${entries - 1}`])
        if (acknowledged) expect(got).toEqual([-1, -(entries - 1)])
        else
          expect([
            [1, entries - 1],
            [-1, -(entries - 1)],
          ]).toContainEqual(got)
        expect((await reopened.query({})).length).toBe(entries)
        await reopened.close()
        const { garbage, state } = await readStoredRegistry(memoryStore({ data: warm }))
        expect(garbage).toEqual([])
        if (acknowledged && state.gen === 0) checkpointsCut++
      }
      // Some runs must have been cut inside the checkpoint (acknowledged, but no snapshot in force).
      expect(checkpointsCut).toBeGreaterThan(0)
      if (entries > 16_000) expect(betweenParts).toBeGreaterThan(0)
    }, 60_000)
  }
})

describe('batches smaller than a group', () => {
  /** A memory store whose batches hold at most 10 ops, recording every batch; `failBatch` fails that one (1-based). */
  function smallBatches(data: ReturnType<typeof memoryStoreData>, failBatch = 0) {
    const inner = memoryStore({ data })
    const batches: Array<Array<{ type: string; space: string; key: string }>> = []
    const store = {
      ...inner,
      capabilities: { ...inner.capabilities, maxBatchSize: 10 },
      batch(ops: Parameters<typeof inner.batch>[0]) {
        batches.push(ops.map((op) => ({ type: op.type, space: op.space, key: 'key' in op ? op.key : '' })))
        if (batches.length === failBatch) return Promise.reject(new Error('disk full'))
        return inner.batch(ops)
      },
    }
    return { store, batches }
  }
  const options = { ...plainLayers, maintenanceIntervalMs: 0, pressure: { checkIntervalMs: 0 } }

  it('puts issued together beyond one batch land in slices, each carrying its own metadata', async () => {
    const data = memoryStoreData()
    const { store, batches } = smallBatches(data)
    const mem = await createMemory({ ...options, stores: { warm: store } })
    await Promise.all(Array.from({ length: 25 }, (_, i) => mem.put(`k${i}`, i)))
    expect(batches.length).toBeGreaterThan(2)
    for (const batch of batches) {
      const values = batch.filter((op) => op.space === 'values').length
      const journal = batch.filter((op) => op.space === 'meta').length
      expect(batch.length).toBeLessThanOrEqual(10)
      if (values > 0) expect(journal).toBeGreaterThan(0)
    }
    await mem.close()
    const reopened = await createMemory({ ...options, stores: { warm: memoryStore({ data }) } })
    expect(await reopened.getMany(['k0', 'k12', 'k24'])).toEqual([0, 12, 24])
    await reopened.close()
  })

  it('a failed slice fails only its own puts; the others succeed and the registry matches the store', async () => {
    const data = memoryStoreData()
    const { store } = smallBatches(data, 2)
    const mem = await createMemory({ ...options, stores: { warm: store } })
    const outcomes = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        mem.put(`k${i}`, i).then(
          () => 'ok',
          () => 'failed',
        ),
      ),
    )
    expect(outcomes.slice(0, 9)).toEqual(Array(9).fill('ok'))
    expect(outcomes.slice(9, 18)).toEqual(Array(9).fill('failed'))
    expect(outcomes.slice(18)).toEqual(Array(7).fill('ok'))
    for (let i = 0; i < 25; i++) expect(await mem.get(`k${i}`), `k${i}`).toBe(outcomes[i] === 'ok' ? i : undefined)
    await mem.close()
    const reopened = await createMemory({ ...options, stores: { warm: memoryStore({ data }) } })
    for (let i = 0; i < 25; i++) expect(await reopened.get(`k${i}`), `k${i} after reopen`).toBe(outcomes[i] === 'ok' ? i : undefined)
    await reopened.close()
  })

  it('a putMany larger than one atomic batch is refused before anything is written', async () => {
    const data = memoryStoreData()
    const { store, batches } = smallBatches(data)
    const mem = await createMemory({ ...options, stores: { warm: store } })
    await expect(mem.putMany(Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: i })))).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    expect(batches).toEqual([])
    const infos = await mem.putMany(Array.from({ length: 9 }, (_, i) => ({ key: `k${i}`, value: i })))
    expect(infos).toHaveLength(9)
    expect(batches).toHaveLength(1)
    await mem.close()
  })
})

describe('opening a checkpointed store', () => {
  /** A memory of 3,000 entries each written twice (a checkpoint, then `tail` if given after it), closed. */
  async function checkpointed(tail?: string) {
    const h = await open(plainLayers)
    const write = (version: number) => h.mem.putMany(Array.from({ length: 3000 }, (_, j) => ({ key: `k${j}`, value: version })))
    await write(1)
    await write(2)
    await h.mem.flush()
    if (tail !== undefined) await h.mem.put(tail, 1)
    await h.mem.close()
    return h
  }

  it('deletes parts of the snapshot in force past those it names (a failed checkpoint of the same number wrote more)', async () => {
    const h = await checkpointed()
    const { state } = await readStoredRegistry(memoryStore({ data: h.warm }))
    const pad = (n: number, width: number) => String(n).padStart(width, '0')
    const stray = `s:${pad(state.gen, 8)}:${pad(state.parts, 6)}`
    h.warm.spaces.meta.set(stray, new Uint8Array([1, 2, 3]))
    expect((await readStoredRegistry(memoryStore({ data: h.warm }))).garbage).toEqual([stray])
    const mem = await createMemory({ ...plainLayers, maintenanceIntervalMs: 0, stores: { warm: memoryStore({ data: h.warm }) } })
    expect(await mem.get('k7')).toBe(2)
    await mem.close()
    expect(h.warm.spaces.meta.has(stray)).toBe(false)
  })

  it('reads each snapshot part once and the journal only after it', async () => {
    const h = await checkpointed('tail')
    const inner = memoryStore({ data: h.warm })
    const reads: string[] = []
    const counting = {
      ...inner,
      getMany: async (space: 'meta' | 'values', keys: readonly string[]) => {
        const values = await inner.getMany(space, keys)
        if (space === 'meta') keys.forEach((key, i) => values[i] && reads.push(key))
        return values
      },
      scan: async (space: 'meta' | 'values', options?: { after?: string; limit?: number }) => {
        const page = await inner.scan(space, options)
        if (space === 'meta') reads.push(...page.map(([key]) => key))
        return page
      },
    }
    const mem = await createMemory({ ...plainLayers, maintenanceIntervalMs: 0, stores: { warm: counting } })
    const parts = reads.filter((key) => key.startsWith('s:'))
    expect(parts.length).toBe(2)
    expect(new Set(parts).size).toBe(2)
    expect(await mem.get('tail')).toBe(1)
    expect(await mem.get('k7')).toBe(2)
    await mem.close()
  })
})

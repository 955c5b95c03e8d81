import { describe, expect, it } from 'vitest'
import { createMemory, isTiermemError, memoryStore, TiermemError } from '../../src/core/index.ts'
import type { Store } from '../../src/core/store/store.ts'
import { readStoredRegistry } from '../../src/core/persistence/journal.ts'
import { open, plainLayers } from './helpers.ts'

/** Every key, value and tier byte of a memory, to prove a failed call changed nothing. */
async function snapshot(h: Awaited<ReturnType<typeof open>>) {
  const values = (d: typeof h.warm) => [...d.spaces.values.entries()].map(([k, v]) => [k, [...v]]).sort()
  const { records } = await readStoredRegistry(memoryStore({ data: h.warm }))
  return {
    warmValues: values(h.warm),
    coldValues: values(h.cold),
    registry: [...records.entries()].sort(),
    entries: await h.mem.query({}),
    stats: (await h.mem.stats()).tiers,
  }
}

describe('TiermemError codes', () => {
  it('INVALID_KEY for empty, non-string and over-long keys', async () => {
    const h = await open()
    await h.mem.put('keep', 1)
    const before = await snapshot(h)
    for (const key of ['', 42, null, undefined, 'k'.repeat(1025), {}]) {
      await expect(h.mem.put(key as string, 1)).rejects.toMatchObject({ code: 'INVALID_KEY', name: 'TiermemError' })
      await expect(h.mem.get(key as string)).rejects.toMatchObject({ code: 'INVALID_KEY' })
      await expect(h.mem.delete(key as string)).rejects.toMatchObject({ code: 'INVALID_KEY' })
    }
    await expect(h.mem.getMany(['ok', ''])).rejects.toMatchObject({ code: 'INVALID_KEY' })
    expect(await h.mem.put('k'.repeat(1024), 1)).toMatchObject({ sizeBytes: 1 })
    await h.mem.delete('k'.repeat(1024))
    expect(await snapshot(h)).toEqual(before)
    await h.mem.close()
  })

  it('INVALID_VALUE for functions and symbols, with the reason and what to store instead', async () => {
    const h = await open()
    await h.mem.put('keep', { v: 1 })
    const before = await snapshot(h)
    for (const value of [() => 1, { f() {} }, Symbol('s'), { nested: [Symbol('t')] }]) {
      const error = await h.mem.put('keep', value).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TiermemError)
      expect(error).toMatchObject({ code: 'INVALID_VALUE' })
      expect((error as Error).message).toMatch(/store plain data/)
    }
    expect(await snapshot(h)).toEqual(before)
    expect(await h.mem.get('keep')).toEqual({ v: 1 })
    await h.mem.close()
  })

  it('INVALID_OPTION for out-of-range and unknown options', async () => {
    const h = await open()
    await h.mem.put('keep', 1)
    const before = await snapshot(h)
    const bad: object[] = [
      { importance: 1.5 },
      { importance: -0.1 },
      { importance: Number.NaN },
      { relevance: 2 },
      { ttlMs: -1 },
      { ttlMs: Number.POSITIVE_INFINITY },
      { ttlMs: '10' },
      { tier: 'lukewarm' },
      { layer: 'nope' },
      { namespace: '' },
      { namespace: 'a\u0000b' },
      { tags: 'x' },
      { tags: [''] },
      { evictable: 'yes' },
      { durable: 0 },
      { durable: false, tier: 'cold' },
      { type: '' },
      { importanse: 0.5 },
    ]
    for (const options of bad) {
      await expect(h.mem.put('keep', 2, options), JSON.stringify(options)).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    }
    await expect(
      h.mem.putMany([
        { key: 'new', value: 1 },
        { key: 'new2', value: 1, importance: 3 },
      ]),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(h.mem.query({ tier: 'x' as 'hot' })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(h.mem.configure({ pressure: { thresholds: { warning: 0.9, critical: 0.8, emergency: 0.95 } } })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    })
    await expect(h.mem.configure({ hot: { maxBytes: -1 } })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(h.mem.openScope('')).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(h.mem.on('promote' as 'promoted', () => {})).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(h.mem.on('toString' as 'promoted', () => {})).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(h.mem.on('promoted', undefined as unknown as () => void)).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    expect(await snapshot(h)).toEqual(before)
    await h.mem.close()
    await expect(createMemory({ policy: { defaultLayer: 'missing' } })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(
      createMemory({ policy: { layers: { a: { eviction: 'manual', promoteTo: 'b' }, b: { eviction: 'manual', promoteTo: 'a' } } } }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    const shared = memoryStore()
    await expect(createMemory({ stores: { warm: shared, cold: shared } })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
  })

  it('REF_HELD when evicting a held entry, NOT_HELD when releasing an unheld one, NOT_FOUND for missing keys', async () => {
    const h = await open()
    await h.mem.put('k', 1)
    expect(await h.mem.retain('k')).toBe(1)
    await expect(h.mem.evict('k')).rejects.toMatchObject({ code: 'REF_HELD' })
    expect(await h.mem.get('k')).toBe(1)
    expect(await h.mem.release('k')).toBe(0)
    await expect(h.mem.release('k')).rejects.toMatchObject({ code: 'NOT_HELD' })
    for (const call of [h.mem.retain('nope'), h.mem.release('nope'), h.mem.evict('nope'), h.mem.promote('nope'), h.mem.demote('nope')]) {
      await expect(call).rejects.toMatchObject({ code: 'NOT_FOUND' })
    }
    await h.mem.evict('k')
    expect(await h.mem.has('k')).toBe(false)
    await h.mem.close()
  })

  it('QUOTA_EXCEEDED from the store leaves every stored entry as it was', async () => {
    const inner = memoryStore()
    let full = false
    const quotaStore: Store = {
      ...inner,
      batch: (ops) => (full ? Promise.reject(new TiermemError('QUOTA_EXCEEDED', 'the browser refused the write')) : inner.batch(ops)),
    }
    const mem = await createMemory({ stores: { warm: quotaStore }, maintenanceIntervalMs: 0, ...plainLayers })
    await mem.put('a', 'original')
    full = true
    await expect(mem.put('a', 'replacement')).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' })
    await expect(
      mem.putMany([
        { key: 'b', value: 1 },
        { key: 'c', value: 2 },
      ]),
    ).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' })
    expect(await mem.get('a')).toBe('original')
    expect(await mem.has('b')).toBe(false)
    expect((await mem.stats()).tiers.hot.count).toBe(1)
    full = false
    await mem.put('b', 1)
    expect(await mem.get('b')).toBe(1)
    await mem.close()
  })

  it('QUOTA_EXCEEDED for a full manual layer, without evicting anything', async () => {
    const h = await open({ policy: { layers: { assets: { maxBytes: 30 } } } })
    await h.mem.put('a', 'x'.repeat(10), { layer: 'assets' })
    await expect(h.mem.put('b', 'y'.repeat(30), { layer: 'assets' })).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' })
    expect(await h.mem.get('a')).toBe('x'.repeat(10))
    // Replacing an entry counts its old size as freed.
    await h.mem.put('a', 'z'.repeat(20), { layer: 'assets' })
    expect(h.events.evicted).toEqual([])
    await h.mem.close()
  })

  it('CORRUPT when a stored value cannot be read back', async () => {
    const h = await open(plainLayers)
    await h.mem.put('w', { ok: true }, { tier: 'warm' })
    await h.mem.put('fine', 1, { tier: 'warm' })
    const key = 'default\u0000w'
    h.warm.spaces.values.set(key, new Uint8Array([0xc1]))
    await expect(h.mem.get('w')).rejects.toMatchObject({ code: 'CORRUPT' })
    h.warm.spaces.values.delete(key)
    await expect(h.mem.get('w')).rejects.toMatchObject({ code: 'CORRUPT' })
    expect(await h.mem.get('fine')).toBe(1)
    await h.mem.close()
  })

  it('CLOSED for every call after close; close twice is fine', async () => {
    const h = await open()
    await h.mem.put('k', 1)
    await h.mem.close()
    await h.mem.close()
    const m = h.mem
    const calls: Array<Promise<unknown>> = [
      m.put('k', 1),
      m.get('k'),
      m.getEntry('k'),
      m.has('k'),
      m.delete('k'),
      m.putMany([]),
      m.getMany(['k']),
      m.query(),
      m.openScope('t'),
      m.retain('k'),
      m.release('k'),
      m.evict('k'),
      m.promote('k'),
      m.demote('k'),
      m.gc(),
      m.stats(),
      m.configure({}),
      m.on('evicted', () => {}),
      m.flush(),
    ]
    for (const call of calls) await expect(call).rejects.toMatchObject({ code: 'CLOSED' })
  })

  it('SCOPE_PAUSED is covered with pressure (pressure.test.ts); isTiermemError narrows by code', () => {
    const error = new TiermemError('SCOPE_PAUSED', 'paused')
    expect(isTiermemError(error, 'SCOPE_PAUSED')).toBe(true)
    expect(isTiermemError(error, 'CLOSED')).toBe(false)
    expect(isTiermemError(new Error('x'))).toBe(false)
  })
})

describe('Memory is async-disposable', () => {
  it('await using closes it at the end of the block', async () => {
    let kept: Awaited<ReturnType<typeof createMemory>> | undefined
    {
      await using mem = await createMemory({ maintenanceIntervalMs: 0 })
      await mem.put('k', 1, { layer: 'assets' })
      kept = mem
    }
    await expect(kept.get('k')).rejects.toMatchObject({ code: 'CLOSED' })
  })
})

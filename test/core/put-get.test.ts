import { describe, expect, it } from 'vitest'
import { createMemory } from '../../src/core/index.ts'
import { open, plainLayers } from './helpers.ts'

describe('put / get / getEntry / has / delete', () => {
  it('round-trips every value type a user would store', async () => {
    const { mem } = await open(plainLayers)
    const values: Record<string, unknown> = {
      string: 'hello',
      number: 42.5,
      negative: -7,
      bool: false,
      nil: null,
      undef: undefined,
      object: { role: 'user', text: 'hi', nested: { list: [1, 'two', { three: 3 }] } },
      array: [1, [2, [3]]],
      date: new Date(1_700_000_000_123),
      map: new Map<unknown, unknown>([
        ['a', 1],
        [2, { b: true }],
      ]),
      set: new Set(['x', 'y']),
      u8: new Uint8Array([0, 1, 255]),
      f32: new Float32Array([1.5, -2.25]),
      buffer: new Uint8Array([9, 8, 7]).buffer,
      bigint: 2n ** 60n,
      unicode: 'héllo 🌍 日本語',
    }
    for (const [key, value] of Object.entries(values)) await mem.put(key, value)
    for (const tierRound of ['hot', 'warm', 'cold']) {
      for (const [key, value] of Object.entries(values)) {
        expect(await mem.get(key), `${key} in ${tierRound}`).toEqual(value)
      }
      for (const key of Object.keys(values)) await mem.demote(key)
    }
    const map = await mem.get<Map<unknown, unknown>>('map')
    expect(map).toBeInstanceOf(Map)
    expect(await mem.has('undef')).toBe(true)
    await mem.close()
  })

  it('reports exact sizes and a content hash that follows the content', async () => {
    const { mem } = await open(plainLayers)
    const a = await mem.put('a', { text: 'same' })
    const b = await mem.put('b', { text: 'same' })
    const c = await mem.put('c', { text: 'different' })
    expect(a.contentHash).toMatch(/^[0-9a-f]{16}$/)
    expect(a.contentHash).toBe(b.contentHash)
    expect(c.contentHash).not.toBe(a.contentHash)
    expect(a.sizeBytes).toBeGreaterThan(0)
    expect(c.sizeBytes).toBeGreaterThan(a.sizeBytes)
    const stats = await mem.stats()
    expect(stats.tiers.hot.bytes).toBe(a.sizeBytes + b.sizeBytes + c.sizeBytes)
    await mem.close()
  })

  it('fills metadata from options and defaults', async () => {
    const { mem, clock } = await open()
    const info = await mem.put('m1', 'hello', { type: 'message', importance: 0.4, tags: ['chat'], taskId: 't1', ttlMs: 1000 })
    expect(info).toMatchObject({
      key: 'm1',
      namespace: 'default',
      type: 'message',
      tier: 'hot',
      layer: 'interact',
      importance: 0.4,
      relevance: 0.4,
      createdAt: clock.now(),
      lastAccessedAt: clock.now(),
      accessCount: 0,
      tags: ['chat'],
      taskId: 't1',
      evictable: true,
      durable: true,
      refCount: 0,
      expiresAt: clock.now() + 1000,
    })
    const plain = await mem.put('m2', 'x')
    expect(plain.type).toBe('context')
    expect(plain.importance).toBe(0.5)
    expect(plain.expiresAt).toBe(clock.now() + 24 * 3_600_000)
    await mem.close()
  })

  it('getEntry does not count as an access; get does', async () => {
    const { mem, clock } = await open()
    await mem.put('k', 1)
    clock.advance(50)
    expect((await mem.getEntry('k'))?.accessCount).toBe(0)
    await mem.get('k')
    await mem.get('k')
    const entry = await mem.getEntry('k')
    expect(entry?.accessCount).toBe(2)
    expect(entry?.lastAccessedAt).toBe(clock.now())
    await mem.close()
  })

  it('overwrites, deletes, and says whether a delete removed anything', async () => {
    const { mem, events } = await open()
    await mem.put('k', 'v1')
    await mem.put('k', 'v2')
    expect(await mem.get('k')).toBe('v2')
    expect((await mem.stats()).tiers.hot.count).toBe(1)
    expect(await mem.delete('k')).toBe(true)
    expect(await mem.delete('k')).toBe(false)
    expect(await mem.get('k')).toBeUndefined()
    expect(await mem.has('k')).toBe(false)
    expect(events.evicted).toEqual([expect.objectContaining({ key: 'k', reason: 'manual' })])
    await mem.close()
  })

  it('keeps namespaces apart', async () => {
    const { mem } = await open()
    await mem.put('k', 'agent-a', { namespace: 'a' })
    await mem.put('k', 'agent-b', { namespace: 'b' })
    expect(await mem.get('k', { namespace: 'a' })).toBe('agent-a')
    expect(await mem.get('k', { namespace: 'b' })).toBe('agent-b')
    expect(await mem.get('k')).toBeUndefined()
    await mem.delete('k', { namespace: 'a' })
    expect(await mem.get('k', { namespace: 'b' })).toBe('agent-b')
    await mem.close()
  })

  it('putMany commits all items together and getMany reads across tiers in order', async () => {
    const { mem } = await open(plainLayers)
    const infos = await mem.putMany([
      { key: 'a', value: 1 },
      { key: 'b', value: 2, tier: 'warm' },
      { key: 'c', value: 3, tier: 'cold' },
      { key: 'd', value: 4, namespace: 'other' },
    ])
    expect(infos.map((i) => i.tier)).toEqual(['hot', 'warm', 'cold', 'hot'])
    expect(await mem.getMany(['c', 'missing', 'a', 'b', 'd'])).toEqual([3, undefined, 1, 2, undefined])
    expect(await mem.getMany(['d'], { namespace: 'other' })).toEqual([4])
    expect(await mem.putMany([])).toEqual([])
    await mem.close()
  })

  it('many puts issued together share one store batch (group commit)', async () => {
    const { memoryStore } = await import('../../src/core/store/memory-store.ts')
    const inner = memoryStore()
    let batches = 0
    const counting = { ...inner, batch: (ops: Parameters<typeof inner.batch>[0]) => (batches++, inner.batch(ops)) }
    const mem = await createMemory({ stores: { warm: counting }, maintenanceIntervalMs: 0, ...plainLayers })
    await Promise.all(Array.from({ length: 100 }, (_, i) => mem.put(`k${i}`, i)))
    expect(batches).toBeLessThanOrEqual(2)
    expect(await mem.get('k99')).toBe(99)
    await mem.close()
  })

  it('query filters by namespace, type, tier, layer, task and tag, with a limit', async () => {
    const { mem } = await open(plainLayers)
    await mem.put('a', 1, { type: 'fact', tags: ['x'], taskId: 't1' })
    await mem.put('b', 2, { type: 'message', tags: ['x', 'y'], tier: 'warm' })
    await mem.put('c', 3, { type: 'message', namespace: 'n2', layer: 'assets' })
    const keys = async (filter: Parameters<typeof mem.query>[0]) => (await mem.query(filter)).map((e) => e.key).sort()
    expect(await keys({})).toEqual(['a', 'b', 'c'])
    expect(await keys({ namespace: 'default' })).toEqual(['a', 'b'])
    expect(await keys({ type: 'message' })).toEqual(['b', 'c'])
    expect(await keys({ tier: 'warm' })).toEqual(['b'])
    expect(await keys({ layer: 'assets' })).toEqual(['c'])
    expect(await keys({ taskId: 't1' })).toEqual(['a'])
    expect(await keys({ tag: 'x' })).toEqual(['a', 'b'])
    expect(await keys({ tag: 'y', type: 'message' })).toEqual(['b'])
    expect(await keys({ type: 'never-used' })).toEqual([])
    expect(await mem.query({ limit: 2 })).toHaveLength(2)
    await mem.close()
  })
})

describe('values are protected from the caller', () => {
  it('mutating the object passed to put does not change what is stored', async () => {
    const { mem } = await open()
    const value = { text: 'original', list: [1, 2] }
    await mem.put('k', value)
    value.text = 'changed'
    value.list.push(3)
    expect(await mem.get('k')).toEqual({ text: 'original', list: [1, 2] })
    await mem.close()
  })

  it('a plain value read from hot is frozen: writes to it throw and never reach the store', async () => {
    const { mem } = await open()
    await mem.put('k', { text: 'original', nested: { n: 1 } })
    const got = await mem.get<{ text: string; nested: { n: number } }>('k')
    expect(Object.isFrozen(got)).toBe(true)
    expect(() => {
      got!.nested.n = 2
    }).toThrow(TypeError)
    expect(await mem.get('k')).toEqual({ text: 'original', nested: { n: 1 } })
    await mem.close()
  })

  it('values that cannot be frozen (Map, typed arrays, Date) are copied per read', async () => {
    const { mem } = await open()
    await mem.put('m', { map: new Map([['a', 1]]), bytes: new Uint8Array([1, 2]), when: new Date(5) })
    const first = await mem.get<{ map: Map<string, number>; bytes: Uint8Array; when: Date }>('m')
    first!.map.set('a', 99)
    first!.bytes[0] = 99
    first!.when.setTime(0)
    expect(await mem.get('m')).toEqual({ map: new Map([['a', 1]]), bytes: new Uint8Array([1, 2]), when: new Date(5) })
    await mem.close()
  })

  it('values read from warm and cold are the caller’s own copies', async () => {
    const { mem } = await open(plainLayers)
    await mem.put('w', { n: 1 }, { tier: 'warm' })
    const got = await mem.get<{ n: number }>('w')
    got!.n = 2
    expect(await mem.get('w')).toEqual({ n: 1 })
    await mem.close()
  })
})

import { describe, expect, it } from 'vitest'
import { fakeClock, open, plainLayers } from './helpers.ts'

describe('dedupe()', () => {
  it('merges entries of one namespace with the same bytes: the most important kept, reads summed, tags merged, latest access kept', async () => {
    const clock = fakeClock()
    const h = await open(plainLayers, clock)
    const { mem } = h
    const value = { text: 'the user is vegetarian', n: [1, 2, 3] }
    await mem.put('a', value, { importance: 0.3, tags: ['x'] })
    await mem.put('b', value, { importance: 0.9, tags: ['y'], tier: 'cold' })
    await mem.put('c', structuredClone(value), { importance: 0.5, tier: 'warm', evictable: false })
    await mem.put('other-ns', value, { namespace: 'n2' })
    await mem.put('different', { text: 'the user is vegan', n: [1, 2, 3] })
    for (let i = 0; i < 3; i++) await mem.get('a')
    clock.advance(5000)
    await mem.get('c')
    const lastRead = clock.now()

    const result = await mem.dedupe()
    expect(result).toMatchObject({ groups: 1, removed: 2 })
    expect(result.freedBytes).toBeGreaterThan(0)
    expect(await mem.has('a')).toBe(false)
    expect(await mem.has('c')).toBe(false)
    const kept = await mem.getEntry('b')
    expect(kept).toMatchObject({ importance: 0.9, accessCount: 4, lastAccessedAt: lastRead, evictable: false })
    expect(kept?.tags.sort()).toEqual(['x', 'y'])
    expect(await mem.get('b')).toEqual(value)
    // Another namespace and another value are not duplicates.
    expect(await mem.has('other-ns', { namespace: 'n2' })).toBe(true)
    expect(await mem.has('different')).toBe(true)
    expect(
      h.events.evicted
        .filter((e) => e.reason === 'dedupe')
        .map((e) => e.key)
        .sort(),
    ).toEqual(['a', 'c'])

    // The merge is durable: it survives a reopen.
    await h.reopen()
    expect(await h.mem.getEntry('b')).toMatchObject({ accessCount: 5, evictable: false })
    expect(await h.mem.has('a')).toBe(false)
    expect(await h.mem.dedupe()).toEqual({ groups: 0, removed: 0, freedBytes: 0 })
    await h.mem.close()
  })

  it('leaves held entries alone, and merges in-memory-only entries too', async () => {
    const h = await open(plainLayers)
    const { mem } = h
    await mem.put('held', 'same')
    await mem.retain('held')
    await mem.put('free1', 'same')
    await mem.put('free2', 'same', { durable: false })
    expect(await mem.dedupe()).toMatchObject({ groups: 1, removed: 1 })
    expect(await mem.has('held')).toBe(true)
    expect((await mem.query({})).map((e) => e.key).sort()).toEqual(['free1', 'held'])
    await mem.close()
  })

  it('an expired copy gc has not reached takes no part: it never outlives, nor replaces, a live one', async () => {
    const { mem, clock } = await open(plainLayers)
    // The expired copy would be the keeper: more important.
    await mem.put('expired', 'same', { ttlMs: 100, importance: 0.9 })
    await mem.put('live', 'same', { importance: 0.1 })
    clock.advance(200)
    expect(await mem.dedupe()).toMatchObject({ groups: 0, removed: 0 })
    expect(await mem.get('live')).toBe('same')
    expect(await mem.get('expired')).toBeUndefined()
    await mem.close()
  })
  it('deleting a duplicate takes its vector with it, and recall finds the one kept', async () => {
    const h = await open(plainLayers)
    const { mem } = h
    await mem.put('a', 'same', { vector: new Float32Array([1, 0, 0]), importance: 0.1 })
    await mem.put('b', 'same', { vector: new Float32Array([1, 0, 0]), importance: 0.8 })
    await mem.dedupe()
    const hits = await mem.recall(new Float32Array([1, 0, 0]), { k: 5 })
    expect(hits.map((hit) => hit.key)).toEqual(['b'])
    await mem.close()
  })

  it('issued together with writes, takes effect in issue order', async () => {
    const h = await open(plainLayers)
    const { mem } = h
    const before = mem.put('x', 'dup')
    const alsoBefore = mem.put('y', 'dup')
    const merging = mem.dedupe()
    const after = mem.put('z', 'dup')
    await Promise.all([before, alsoBefore, after])
    expect(await merging).toMatchObject({ removed: 1 })
    expect(await mem.has('z')).toBe(true)
    await mem.close()
  })
})

describe('put(..., { dedupe: true })', () => {
  it('a put of bytes a stored entry holds merges into it when that entry is at least as important', async () => {
    const h = await open(plainLayers)
    const { mem } = h
    await mem.put('first', { text: 'same' }, { importance: 0.8, tags: ['a'], tier: 'cold' })
    const info = await mem.put('second', { text: 'same' }, { importance: 0.5, tags: ['b'], dedupe: true })
    expect(info.key).toBe('first')
    expect(info.tags.sort()).toEqual(['a', 'b'])
    expect(info.accessCount).toBe(1)
    expect(await mem.has('second')).toBe(false)
    expect((await mem.query({})).map((e) => e.key)).toEqual(['first'])
    // Without the option, the same put is an entry of its own.
    await mem.put('third', { text: 'same' })
    expect(await mem.has('third')).toBe(true)
    await h.reopen()
    expect(await h.mem.getEntry('first')).toMatchObject({ accessCount: 1 })
    await h.mem.close()
  })

  it("a more important put takes the stored copy's place, with its reads and tags", async () => {
    const h = await open(plainLayers)
    const { mem } = h
    await mem.put('old', 'same bytes', { importance: 0.2, tags: ['x'] })
    for (let i = 0; i < 3; i++) await mem.get('old')
    const info = await mem.put('new', 'same bytes', { importance: 0.9, dedupe: true })
    expect(info).toMatchObject({ key: 'new', accessCount: 3, tags: ['x'] })
    expect(await mem.has('old')).toBe(false)
    expect(h.events.evicted).toEqual([expect.objectContaining({ key: 'old', reason: 'dedupe' })])
    // Different bytes, or another namespace: no merge.
    expect((await mem.put('other', 'other bytes', { dedupe: true })).key).toBe('other')
    expect((await mem.put('ns', 'same bytes', { namespace: 'n2', dedupe: true })).key).toBe('ns')
    await expect(mem.put('bad', 1, { dedupe: 'yes' as never })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await mem.close()
  })
})

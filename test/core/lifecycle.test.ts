import { describe, expect, it } from 'vitest'
import { DAY, MINUTE, open, plainLayers } from './helpers.ts'

describe('expiry (TTL)', () => {
  it('an expired entry reads as undefined, is evicted with reason expired, and gc counts it', async () => {
    const { mem, clock, events } = await open()
    await mem.put('short', 'x', { ttlMs: 1000 })
    await mem.put('long', 'y', { ttlMs: 10_000 })
    clock.advance(999)
    expect(await mem.get('short')).toBe('x')
    clock.advance(1)
    expect(await mem.get('short')).toBeUndefined()
    expect(await mem.has('short')).toBe(false)
    expect(await mem.getEntry('short')).toBeUndefined()
    await mem.flush()
    expect(events.evicted).toEqual([expect.objectContaining({ key: 'short', reason: 'expired' })])
    clock.advance(20_000)
    const stats = await mem.gc()
    expect(stats.expired).toBe(1)
    expect(stats.freedBytes).toBeGreaterThan(0)
    expect(await mem.query({})).toEqual([])
    await mem.close()
  })

  it('layer TTLs apply by default: interact 24 h, insights 90 d, assets permanent', async () => {
    const { mem, clock } = await open()
    const now = clock.now()
    expect((await mem.put('i', 1)).expiresAt).toBe(now + DAY)
    expect((await mem.put('n', 1, { layer: 'insights' })).expiresAt).toBe(now + 90 * DAY)
    expect((await mem.put('a', 1, { layer: 'assets' })).expiresAt).toBeUndefined()
    clock.advance(DAY)
    expect((await mem.gc()).expired).toBe(1)
    clock.advance(89 * DAY)
    expect((await mem.gc()).expired).toBe(1)
    clock.advance(3650 * DAY)
    expect(await mem.get('a')).toBe(1)
    await mem.close()
  })

  it('an expired entry that is held is not evicted until released, then gc collects it as an orphan', async () => {
    const { mem, clock } = await open()
    await mem.put('held', 1, { ttlMs: 100 })
    await mem.retain('held')
    clock.advance(200)
    expect(await mem.get('held')).toBeUndefined()
    expect((await mem.gc()).expired).toBe(0)
    await mem.release('held')
    expect((await mem.gc()).orphaned).toBe(1)
    await mem.close()
  })

  it('an expired entry gc has not reached is absent for every call that names it, as for get and has', async () => {
    const { mem, clock, events } = await open()
    for (const key of ['a', 'b', 'c']) await mem.put(key, key, { ttlMs: 100 })
    await mem.put('held', 1, { ttlMs: 100 })
    await mem.retain('held')
    await mem.put('stays', 2)
    clock.advance(200)
    for (const call of ['evict', 'promote', 'demote', 'retain', 'restore'] as const) {
      await expect(mem[call]('a'), call).rejects.toMatchObject({ code: 'NOT_FOUND' })
    }
    // delete still removes it, but answers that nothing was there; the event says it expired.
    expect(await mem.delete('b')).toBe(false)
    await mem.flush()
    expect(events.evicted).toContainEqual(expect.objectContaining({ key: 'b', reason: 'expired' }))
    // Whoever holds an expired entry can still let go of it.
    expect(await mem.release('held')).toBe(0)
    // clear removes the expired ones too and counts what was there to see: 'stays'.
    expect(await mem.clear()).toBe(1)
    expect(await mem.query({})).toEqual([])
    expect((await mem.gc()).expired).toBe(0)
    await mem.close()
  })
})

describe('idle demotion and promotion (seed 000)', () => {
  it('demotes hot → warm after 5 min idle and warm → cold after 1 day idle, emitting events', async () => {
    const { mem, clock, events } = await open(plainLayers)
    await mem.put('idle', { v: 1 })
    await mem.put('busy', { v: 2 })
    clock.advance(4 * MINUTE)
    await mem.get('busy')
    clock.advance(MINUTE)
    let stats = await mem.gc()
    expect(stats.demoted).toBe(1)
    expect((await mem.getEntry('idle'))?.tier).toBe('warm')
    expect((await mem.getEntry('busy'))?.tier).toBe('hot')
    clock.advance(DAY)
    stats = await mem.gc()
    expect((await mem.getEntry('idle'))?.tier).toBe('cold')
    expect((await mem.getEntry('busy'))?.tier).toBe('cold')
    expect(stats.demoted).toBe(3)
    expect(events.demoted).toEqual([
      { key: 'idle', namespace: 'default', from: 'hot', to: 'warm' },
      { key: 'busy', namespace: 'default', from: 'hot', to: 'warm' },
      { key: 'idle', namespace: 'default', from: 'warm', to: 'cold' },
      { key: 'busy', namespace: 'default', from: 'warm', to: 'cold' },
    ])
    expect(await mem.get('idle')).toEqual({ v: 1 })
    await mem.close()
  })

  it('promotes a non-hot entry to hot once accessCount > 10', async () => {
    const { mem, events } = await open(plainLayers)
    await mem.put('c', 'value', { tier: 'cold' })
    for (let i = 0; i < 10; i++) expect(await mem.get('c')).toBe('value')
    await mem.flush()
    expect((await mem.getEntry('c'))?.tier).toBe('cold')
    await mem.get('c')
    await mem.flush()
    expect((await mem.getEntry('c'))?.tier).toBe('hot')
    expect(events.promoted).toEqual([{ key: 'c', namespace: 'default', from: 'cold', to: 'hot' }])
    expect(await mem.get('c')).toBe('value')
    await mem.close()
  })

  it('promote / demote move one tier at a time and report the tier reached', async () => {
    const { mem } = await open(plainLayers)
    await mem.put('k', 'v')
    expect(await mem.demote('k')).toBe('warm')
    expect(await mem.demote('k')).toBe('cold')
    expect(await mem.demote('k')).toBe('cold')
    expect(await mem.promote('k')).toBe('warm')
    expect(await mem.promote('k')).toBe('hot')
    expect(await mem.promote('k')).toBe('hot')
    await mem.put('scratch', 1, { durable: false })
    expect(await mem.demote('scratch')).toBe('hot')
    await mem.close()
  })

  it('chooses the initial tier by policy: evidence and large values start warm, explicit tier wins', async () => {
    const { mem } = await open({ ...plainLayers, policy: { ...plainLayers.policy, maxHotEntryBytes: 100 } })
    expect((await mem.put('e', 'x', { type: 'evidence' })).tier).toBe('warm')
    expect((await mem.put('big', 'x'.repeat(200))).tier).toBe('warm')
    expect((await mem.put('small', 'x')).tier).toBe('hot')
    expect((await mem.put('forced', 'x'.repeat(200), { tier: 'hot' })).tier).toBe('hot')
    expect((await mem.put('c', 'x', { tier: 'cold' })).tier).toBe('cold')
    await mem.close()
  })

  it('keeps hot within its working size (65 % of its budget), demoting the least recently used first', async () => {
    const { mem, events } = await open({ ...plainLayers, hot: { maxBytes: 400 } })
    for (let i = 0; i < 5; i++) await mem.put(`k${i}`, 'x'.repeat(97)) // 100 bytes encoded
    const stats = await mem.stats()
    expect(stats.tiers.hot.bytes).toBeLessThanOrEqual(260)
    expect(events.demoted.map((e) => e.key)).toEqual(['k0', 'k1', 'k2'])
    for (let i = 0; i < 5; i++) expect(await mem.get(`k${i}`)).toBe('x'.repeat(97))
    await mem.close()
  })

  it('non-durable entries live only in hot and are gone after reopen', async () => {
    const h = await open(plainLayers)
    await h.mem.put('scratch', { tmp: true }, { durable: false })
    await h.mem.put('kept', { tmp: false })
    expect(await h.mem.get('scratch')).toEqual({ tmp: true })
    expect(h.warm.spaces.values.size).toBe(1)
    await h.reopen()
    expect(await h.mem.get('scratch')).toBeUndefined()
    expect(await h.mem.get('kept')).toEqual({ tmp: false })
    await h.mem.close()
  })
})

describe('gc in the seed order', () => {
  it('runs expired, then orphaned, then demotion, and reports counts and freed bytes', async () => {
    const { mem, clock, events } = await open(plainLayers)
    await mem.put('exp', 'a', { ttlMs: 1000 })
    await mem.put('orphan', 'b')
    await mem.retain('orphan')
    await mem.release('orphan')
    await mem.put('idle', 'c')
    await mem.put('unreferenced', 'd') // refCount 0 but never held: not an orphan
    clock.advance(6 * MINUTE)
    await mem.get('unreferenced')
    const stats = await mem.gc()
    expect(stats).toMatchObject({ expired: 1, orphaned: 1, demoted: 1, pressureEvicted: 0 })
    expect(stats.freedBytes).toBe(4)
    expect(stats.durationMs).toBeGreaterThanOrEqual(0)
    expect(events.evicted.map((e) => [e.key, e.reason])).toEqual([
      ['exp', 'expired'],
      ['orphan', 'orphaned'],
    ])
    expect(await mem.get('unreferenced')).toBe('d')
    expect((await mem.getEntry('idle'))?.tier).toBe('warm')
    await mem.close()
  })

  it('never collects an orphan that is not evictable', async () => {
    const { mem } = await open(plainLayers)
    await mem.put('pinned', 1, { evictable: false })
    await mem.retain('pinned')
    await mem.release('pinned')
    expect((await mem.gc()).orphaned).toBe(0)
    expect(await mem.get('pinned')).toBe(1)
    await mem.close()
  })

  it('a value put after the last release is no orphan: gc keeps it, also across a reopen, while a later release still orphans it', async () => {
    const h = await open(plainLayers)
    await h.mem.put('k', 1)
    await h.mem.retain('k')
    await h.mem.release('k')
    await h.mem.put('k', 2)
    expect((await h.mem.gc()).orphaned).toBe(0)
    expect(await h.mem.get('k')).toBe(2)
    const mem = await h.reopen()
    expect((await mem.gc()).orphaned).toBe(0)
    expect(await mem.get('k')).toBe(2)
    // Held again and let go: the put did not stop it being reference-counted from then on.
    await mem.retain('k')
    await mem.put('k', 3)
    expect(await mem.release('k')).toBe(0)
    expect((await mem.gc()).orphaned).toBe(1)
    expect(await mem.get('k')).toBeUndefined()
    await mem.close()
  })

  it('the maintenance loop runs gc on its own', async () => {
    const { createMemory } = await import('../../src/core/index.ts')
    let now = 0
    const mem = await createMemory({ maintenanceIntervalMs: 5, clock: { now: () => now }, pressure: { checkIntervalMs: 0 } })
    await mem.put('k', 1, { ttlMs: 10 })
    now = 100
    const evicted = await new Promise((resolve) => void mem.on('evicted', resolve))
    expect(evicted).toMatchObject({ key: 'k', reason: 'expired' })
    await mem.close()
  })
})

describe('events', () => {
  it('on() returns an unsubscribe function; a throwing handler does not break the engine', async () => {
    const { mem } = await open()
    const seen: string[] = []
    const off = await mem.on('evicted', (e) => seen.push(e.key))
    const errors: unknown[] = []
    const original = globalThis.reportError
    ;(globalThis as { reportError?: (e: unknown) => void }).reportError = (e) => errors.push(e)
    try {
      await mem.on('evicted', () => {
        throw new Error('handler bug')
      })
      await mem.put('a', 1)
      await mem.delete('a')
      off()
      await mem.put('b', 1)
      await mem.delete('b')
    } finally {
      ;(globalThis as { reportError?: unknown }).reportError = original
    }
    expect(seen).toEqual(['a'])
    expect(errors).toHaveLength(2)
    expect(await mem.put('c', 1)).toMatchObject({ key: 'c' })
    await mem.close()
  })
})

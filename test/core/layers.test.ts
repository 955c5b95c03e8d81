import { describe, expect, it } from 'vitest'
import { defaultLayers } from '../../src/core/index.ts'
import { promotionScore } from '../../src/core/lifecycle/scoring.ts'
import { DAY, HOUR, open } from './helpers.ts'

describe('default layers (seed 004 + seed 001)', () => {
  it('has interact / insights / assets with the seeds’ settings', () => {
    const layers = defaultLayers()
    expect(layers.interact).toMatchObject({
      ttlMs: DAY,
      maxEntries: 30,
      eviction: 'lru_with_importance',
      promoteTo: 'insights',
      promotion: { minScore: 0.7, minAccesses: 3, minAgeMs: 12 * HOUR },
      transfer: { occupancy: 0.5, minImportance: 0.6 },
      forceCleanup: { enabled: true, keepRatio: 0.9 },
    })
    expect(layers.insights).toMatchObject({
      ttlMs: 90 * DAY,
      eviction: 'importance_based',
      promoteTo: 'assets',
      promotion: { minScore: 0.9, minAccesses: 10, minAgeMs: 30 * DAY },
    })
    expect(layers.assets).toMatchObject({ eviction: 'manual' })
    expect(layers.assets!.ttlMs).toBeUndefined()
  })
})

describe('seed 001: short-term transfer and force cleanup', () => {
  it('at ≥ 50 % occupancy, entries with importance ≥ 0.6 transfer to insights with its TTL', async () => {
    const { mem, clock, events } = await open({ policy: { layers: { interact: { maxEntries: 10 } } } })
    for (let i = 0; i < 4; i++) await mem.put(`low${i}`, i, { importance: 0.3 })
    await mem.put('important', 'keep me', { importance: 0.8 })
    // 5 entries = 50 % of 10: this put triggers the transfer (after the put has resolved).
    await mem.flush()
    const moved = await mem.getEntry('important')
    expect(moved?.layer).toBe('insights')
    expect(moved?.expiresAt).toBe(clock.now() + 90 * DAY)
    expect(events.layerChanged).toEqual([{ key: 'important', namespace: 'default', from: 'interact', to: 'insights', reason: 'transfer' }])
    expect((await mem.stats()).layers.interact!.count).toBe(4)
    await mem.close()
  })

  it('below 50 % occupancy nothing transfers', async () => {
    const { mem } = await open({ policy: { layers: { interact: { maxEntries: 10 } } } })
    await mem.put('important', 1, { importance: 0.9 })
    await mem.flush()
    expect((await mem.getEntry('important'))?.layer).toBe('interact')
    await mem.close()
  })

  it('at 100 % occupancy deletes the lowest importance, oldest first, down to keepRatio × capacity', async () => {
    const { mem, clock, events } = await open()
    const importances = [0.5, 0.1, 0.3, 0.1, 0.2]
    for (let i = 0; i < 30; i++) {
      clock.advance(1000)
      await mem.put(`m${i}`, `message ${i}`, { type: 'message', importance: importances[i % 5]! })
    }
    await mem.flush()
    // 30 entries at capacity 30 → keep floor(0.9 × 30) = 27: the three lowest go.
    expect(events.cleanup).toEqual([{ layer: 'interact', removed: 3, remaining: 27, capacity: 30 }])
    expect(events.evicted.map((e) => [e.key, e.reason])).toEqual([
      ['m1', 'cleanup'],
      ['m3', 'cleanup'],
      ['m6', 'cleanup'],
    ])
    expect((await mem.stats()).layers.interact!.count).toBe(27)
    await mem.close()
  })

  it('at capacity, expired members gc has not reached go first, and no live entry goes while they take room', async () => {
    const { mem, clock, events } = await open({ policy: { layers: { interact: { maxEntries: 10, transfer: { occupancy: 1, minImportance: 1 } } } } })
    // Important, so cleanup by importance alone would keep them and delete live entries instead.
    for (let i = 0; i < 6; i++) await mem.put(`old${i}`, i, { importance: 0.9, ttlMs: 1000 })
    clock.advance(2000)
    for (let i = 0; i < 8; i++) await mem.put(`new${i}`, i, { importance: 0.1 })
    await mem.flush()
    expect(events.cleanup).toEqual([])
    expect(events.evicted.map((e) => e.reason)).toEqual(Array(6).fill('expired'))
    expect(await mem.getMany(Array.from({ length: 8 }, (_, i) => `new${i}`))).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect((await mem.stats()).layers.interact!.count).toBe(8)
    await mem.close()
  })

  it('force cleanup never deletes held or non-evictable entries', async () => {
    const { mem } = await open({ policy: { layers: { interact: { maxEntries: 4, transfer: { occupancy: 1, minImportance: 1 } } } } })
    await mem.put('pinned', 1, { importance: 0, evictable: false })
    await mem.put('held', 1, { importance: 0 })
    await mem.retain('held')
    await mem.put('a', 1, { importance: 0.2 })
    await mem.put('b', 1, { importance: 0.3 })
    await mem.flush()
    expect(await mem.has('pinned')).toBe(true)
    expect(await mem.has('held')).toBe(true)
    expect(await mem.has('a')).toBe(false)
    expect(await mem.has('b')).toBe(true)
    await mem.close()
  })

  it('can be switched off at run time; the layer then grows past capacity', async () => {
    const { mem, events } = await open({ policy: { layers: { interact: { maxEntries: 5 } } } })
    await mem.configure({ policy: { layers: { interact: { forceCleanup: { enabled: false, keepRatio: 0.9 } } } } })
    for (let i = 0; i < 8; i++) await mem.put(`m${i}`, i, { importance: 0.1 })
    await mem.flush()
    expect(events.cleanup).toEqual([])
    expect((await mem.stats()).layers.interact!.count).toBe(8)
    await mem.configure({ policy: { layers: { interact: { forceCleanup: { enabled: true, keepRatio: 0.6 } } } } })
    await mem.flush()
    expect((await mem.stats()).layers.interact!.count).toBe(3)
    await mem.close()
  })
})

describe('seed 004: promotion by score, accesses and age', () => {
  it('scores a weighted mean of relevance, recency, frequency and importance', () => {
    const weights = { relevance: 0.3, importance: 0.3, frequency: 0.2, recency: 0.2 }
    expect(promotionScore(weights, { relevance: 1, importance: 1, accessCount: 1e6, idleMs: 0 }, DAY)).toBeCloseTo(1)
    expect(promotionScore(weights, { relevance: 0, importance: 0, accessCount: 0, idleMs: 1e12 }, DAY)).toBeCloseTo(0)
    const recent = promotionScore(weights, { relevance: 0.5, importance: 0.5, accessCount: 5, idleMs: 0 }, DAY)
    const stale = promotionScore(weights, { relevance: 0.5, importance: 0.5, accessCount: 5, idleMs: 3 * DAY }, DAY)
    expect(recent).toBeGreaterThan(stale)
  })

  it('interact → insights needs score > 0.7, > 3 accesses and > 12 h of age', async () => {
    const { mem, clock, events } = await open({ policy: { layers: { interact: { transfer: { occupancy: 1, minImportance: 1 } } } } })
    await mem.put('valuable', 'v', { importance: 0.9, relevance: 0.9 })
    await mem.put('plain', 'p', { importance: 0.3 })
    await mem.put('young', 'y', { importance: 0.9, relevance: 0.9 })
    clock.advance(13 * HOUR)
    await mem.put('young', 'y2', { importance: 0.9, relevance: 0.9 }) // a rewrite is a new entry: age 0
    for (let i = 0; i < 4; i++) {
      await mem.get('valuable')
      await mem.get('plain')
      await mem.get('young')
    }
    const stats = await mem.gc()
    expect(stats.promoted).toBe(1)
    expect((await mem.getEntry('valuable'))?.layer).toBe('insights')
    expect((await mem.getEntry('plain'))?.layer).toBe('interact')
    expect((await mem.getEntry('young'))?.layer).toBe('interact')
    expect(events.layerChanged).toEqual([expect.objectContaining({ key: 'valuable', from: 'interact', to: 'insights', reason: 'promotion' })])
    expect(events.layerChanged[0]!.score).toBeGreaterThan(0.7)
    await mem.close()
  })

  it('with only 3 accesses there is no promotion yet', async () => {
    const { mem, clock } = await open()
    await mem.put('valuable', 'v', { importance: 0.9, relevance: 0.9 })
    clock.advance(13 * HOUR)
    for (let i = 0; i < 3; i++) await mem.get('valuable')
    expect((await mem.gc()).promoted).toBe(0)
    await mem.get('valuable')
    expect((await mem.gc()).promoted).toBe(1)
    await mem.close()
  })

  it('insights → assets needs score > 0.9, > 10 accesses and > 30 days', async () => {
    const { mem, clock } = await open()
    await mem.put('core', 'knowledge', { layer: 'insights', importance: 1, relevance: 1 })
    clock.advance(31 * DAY)
    for (let i = 0; i < 11; i++) await mem.get('core')
    expect((await mem.gc()).promoted).toBe(1)
    const entry = await mem.getEntry('core')
    expect(entry?.layer).toBe('assets')
    expect(entry?.expiresAt).toBeUndefined()
    await mem.close()
  })
})

describe('layer byte budgets', () => {
  it('an over-budget layer evicts its lowest importance × recency / size first, never the new entry', async () => {
    const { mem, events } = await open({ policy: { layers: { interact: { maxBytes: 300, maxEntries: undefined } } } })
    await mem.put('low', 'x'.repeat(97), { importance: 0.1 })
    await mem.put('high', 'x'.repeat(97), { importance: 0.9 })
    await mem.put('mid', 'x'.repeat(97), { importance: 0.5 })
    await mem.put('new', 'x'.repeat(97), { importance: 0.05 })
    await mem.flush()
    expect(events.evicted.map((e) => [e.key, e.reason])).toEqual([['low', 'pressure']])
    expect((await mem.stats()).layers.interact!.bytes).toBeLessThanOrEqual(300)
    await mem.close()
  })
})

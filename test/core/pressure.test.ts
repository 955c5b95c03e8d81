import { describe, expect, it } from 'vitest'
import { defaultPressurePolicy } from '../../src/core/index.ts'
import { nextLevel } from '../../src/core/pressure/pressure-level.ts'
import { open, plainLayers } from './helpers.ts'

const policy = defaultPressurePolicy()
/** A string that msgpack encodes to exactly n bytes (1-, 2- or 3-byte header by length). */
const value = (n: number) => 'x'.repeat(n <= 32 ? n - 1 : n <= 257 ? n - 2 : n - 3)

describe('pressure levels', () => {
  it('maps ratios to levels at 0.70 / 0.80 / 0.95', () => {
    expect(nextLevel(0.69, 'normal', policy)).toBe('normal')
    expect(nextLevel(0.7, 'normal', policy)).toBe('warning')
    expect(nextLevel(0.8, 'normal', policy)).toBe('critical')
    expect(nextLevel(0.95, 'normal', policy)).toBe('emergency')
  })

  it('falls only once the ratio is the hysteresis below the threshold (no flapping)', () => {
    expect(nextLevel(0.68, 'warning', policy)).toBe('warning')
    expect(nextLevel(0.649, 'warning', policy)).toBe('normal')
    expect(nextLevel(0.93, 'emergency', policy)).toBe('emergency')
    expect(nextLevel(0.85, 'emergency', policy)).toBe('critical')
    expect(nextLevel(0.1, 'emergency', policy)).toBe('normal')
  })

  it('reports each budget as a signal with its source', async () => {
    const { mem } = await open({ ...plainLayers, hot: { maxBytes: 1000 }, warm: { maxBytes: 10_000 }, cold: { maxBytes: 100_000 } })
    await mem.put('a', value(500))
    const { pressure } = await mem.stats()
    expect(pressure.signals).toEqual([
      { source: 'budget:hot', used: 500, limit: 1000, ratio: 0.5 },
      { source: 'budget:warm', used: 500, limit: 10_000, ratio: 0.05 },
      { source: 'budget:cold', used: 0, limit: 100_000, ratio: 0 },
    ])
    expect(pressure).toMatchObject({ level: 'normal', ratio: 0.5 })
    await mem.close()
  })
})

describe('pressure actions', () => {
  it('a hot budget lowered at run time is met by demotion at once, with no pressure and nothing lost', async () => {
    // Hot is kept within its working size (65 % of the budget) by every put and by configure();
    // pressure on memory comes from the heap signals (signals.test.ts).
    const { mem, events } = await open({ ...plainLayers, hot: { maxBytes: 100_000 } })
    for (let i = 0; i < 9; i++) await mem.put(`k${i}`, value(1000))
    await mem.configure({ hot: { maxBytes: 10_000 } })
    await mem.flush()
    const stats = await mem.stats()
    expect(stats.tiers.hot.bytes).toBeLessThanOrEqual(6500)
    expect(stats.pressure.level).toBe('normal')
    expect(events.pressure).toEqual([])
    expect(events.evicted).toEqual([])
    for (let i = 0; i < 9; i++) expect(await mem.get(`k${i}`)).toBe(value(1000))
    await mem.close()
  })

  it('writes keep warm within its working size by moving the overflow to cold: the level stays normal', async () => {
    const { mem, events } = await open({ ...plainLayers, warm: { maxBytes: 10_000 } })
    for (let i = 0; i < 9; i++) await mem.put(`k${i}`, value(1000), { tier: 'warm' })
    await mem.flush()
    const stats = await mem.stats()
    expect(stats.pressure.signals.find((signal) => signal.source === 'budget:warm')!.used).toBeLessThanOrEqual(6500)
    expect(stats.tiers.cold.count).toBeGreaterThan(0)
    expect(events.pressure).toEqual([])
    expect(events.evicted).toEqual([])
    for (let i = 0; i < 9; i++) expect(await mem.get(`k${i}`)).toBe(value(1000))
    await mem.close()
  })

  it('storage pressure compresses warm into cold first and deletes nothing below emergency', async () => {
    const { mem, events } = await open({ ...plainLayers, warm: { maxBytes: 10_000 } })
    for (let i = 0; i < 6; i++) await mem.put(`k${i}`, value(1000), { tier: 'warm' })
    await mem.configure({ warm: { maxBytes: 7_000 } }) // 6 KB of 7 KB: critical
    await mem.flush()
    const stats = await mem.stats()
    expect(stats.tiers.cold.count).toBeGreaterThan(0)
    expect(stats.pressure.level).toBe('normal')
    expect(events.evicted).toEqual([])
    expect(events.pressure.map((p) => p.level)).toEqual(['critical', 'normal'])
    await mem.close()
  })

  it('a steady load through small budgets does not walk the level up and down', async () => {
    // The playground's budgets and load: batches of 50 messages of ~2 KB into 256 KiB hot and
    // 1 MiB warm. Before, each batch refilled what relief had freed: emergency ↔ warning
    // (hot) and critical → normal → warning → critical (warm), over and over.
    const { mem, events } = await open({ ...plainLayers, hot: { maxBytes: 256 * 1024 }, warm: { maxBytes: 1024 * 1024 } })
    for (let batch = 0; batch < 12; batch++) {
      await mem.putMany(Array.from({ length: 50 }, (_, j) => ({ key: `m${batch}:${j}`, value: value(1500 + (((batch * 50 + j) * 97) % 1500)) })))
    }
    const levels = events.pressure.map((p) => p.level)
    expect(new Set(levels).size).toBe(levels.length) // no level entered twice
    expect(levels).not.toContain('emergency')
    expect((await mem.stats()).tiers.cold.count).toBeGreaterThan(0)
    await mem.close()
  })

  it('emergency evicts the lowest importance × recency / size until 30 % is free, never held, pinned or manual', async () => {
    const { mem, events } = await open({
      policy: { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' } } },
      cold: { maxBytes: 10_000 },
    })
    await mem.put('pinned', value(1000), { tier: 'cold', importance: 0, evictable: false })
    await mem.put('held', value(1000), { tier: 'cold', importance: 0 })
    await mem.retain('held')
    await mem.put('asset', value(1000), { tier: 'cold', importance: 0, layer: 'assets' })
    for (let i = 0; i < 7; i++) await mem.put(`k${i}`, value(1000), { tier: 'cold', importance: (i + 1) / 10 })
    await mem.flush()
    const stats = await mem.stats()
    expect(stats.tiers.cold.bytes).toBeLessThanOrEqual(7000)
    const evicted = events.evicted.map((e) => e.key)
    expect(evicted).toEqual(['k0', 'k1', 'k2'])
    expect(events.evicted.every((e) => e.reason === 'pressure')).toBe(true)
    expect(events.alert).toContainEqual(expect.objectContaining({ name: 'memory_emergency', severity: 'critical' }))
    for (const key of ['pinned', 'held', 'asset', 'k3']) expect(await mem.has(key)).toBe(true)
    await mem.close()
  })

  it('emergency deletes expired entries gc has not reached before any live one, even important or pinned ones', async () => {
    const { mem, clock, events } = await open({
      policy: { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' } } },
      cold: { maxBytes: 10_000 },
    })
    for (let i = 0; i < 3; i++) await mem.put(`expiring${i}`, value(1000), { tier: 'cold', importance: 1, evictable: i !== 0, ttlMs: 1000 })
    clock.advance(2000)
    for (let i = 0; i < 7; i++) await mem.put(`k${i}`, value(1000), { tier: 'cold', importance: (i + 1) / 10 })
    await mem.flush()
    // Relief starts with gc, whose first step is expiry: nothing live had to go.
    expect(events.evicted.map((e) => `${e.key}:${e.reason}`).sort()).toEqual(['expiring0:expired', 'expiring1:expired', 'expiring2:expired'])
    expect(await mem.getMany(Array.from({ length: 7 }, (_, i) => `k${i}`))).toEqual(Array(7).fill(value(1000)))
    await mem.close()
  })

  it('critical pauses new scopes: openScope fails with SCOPE_PAUSED after scopeWaitMs', async () => {
    const { mem } = await open({ ...plainLayers, cold: { maxBytes: 1000 }, pressure: { scopeWaitMs: 0, checkIntervalMs: 0 } })
    await mem.put('pinned', value(850), { tier: 'cold', evictable: false })
    await mem.flush()
    expect((await mem.stats()).pressure.level).toBe('critical')
    await expect(mem.openScope('t')).rejects.toMatchObject({ code: 'SCOPE_PAUSED' })
    await mem.delete('pinned')
    await expect(mem.openScope('t')).resolves.toMatchObject({ taskId: 't' })
    await mem.close()
  })

  it('a waiting openScope proceeds as soon as pressure eases', async () => {
    const { mem } = await open({ ...plainLayers, cold: { maxBytes: 1000 }, pressure: { scopeWaitMs: 10_000, checkIntervalMs: 0 } })
    await mem.put('pinned', value(850), { tier: 'cold', evictable: false })
    await mem.flush()
    const opening = mem.openScope('t')
    await mem.delete('pinned')
    await expect(opening).resolves.toMatchObject({ taskId: 't' })
    await mem.close()
  })

  it('emergency aborts the signal of non-critical scopes and shrinks task quotas at warning', async () => {
    const { mem } = await open({ ...plainLayers, cold: { maxBytes: 1000 } })
    const normal = await mem.openScope('normal', { quotaBytes: 100 })
    const critical = await mem.openScope('critical', { critical: true })
    await normal.put('a', value(85)) // 85 of 100: fine at normal
    await mem.put('pinned', value(750), { tier: 'cold', evictable: false }) // 0.75: warning
    await mem.flush()
    expect((await mem.stats()).pressure.level).toBe('warning')
    await expect(normal.put('b', value(10))).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' }) // 95 > 100 × 0.8
    await mem.put('pinned2', value(200), { tier: 'cold', evictable: false }) // 0.95: emergency
    await mem.flush()
    expect(normal.signal.aborted).toBe(true)
    expect(normal.signal.reason).toMatchObject({ code: 'QUOTA_EXCEEDED' })
    expect(critical.signal.aborted).toBe(false)
    await mem.close()
  })

  it('the monitor re-checks pressure on its interval', async () => {
    const { createMemory } = await import('../../src/core/index.ts')
    const mem = await createMemory({ ...plainLayers, maintenanceIntervalMs: 0, cold: { maxBytes: 1000 }, pressure: { checkIntervalMs: 5 } })
    const levels: string[] = []
    await mem.on('pressure', (r) => levels.push(r.level))
    await mem.put('pinned', value(900), { tier: 'cold', evictable: false })
    await mem.configure({ cold: { maxBytes: 100_000 } })
    expect(levels).toEqual(['critical', 'normal'])
    await mem.close()
  })
})

describe('a recall index that outgrows the hot budget', () => {
  /** 16-dimension vectors: ~150 bytes of graph each, so 200 of them hold ~30 KB. */
  const vector = (i: number) => Float32Array.from({ length: 16 }, (_, d) => Math.sin(i * 7.3 + d * 0.37))
  const fill = async (mem: Awaited<ReturnType<typeof open>>['mem']) => {
    await mem.putMany(Array.from({ length: 200 }, (_, i) => ({ key: `v${i}`, value: i, vector: vector(i) })))
    await mem.recall(vector(0), { k: 1 }) // the index takes in every committed vector
  }

  it('is reported and said once, entries still leave hot, and task scopes are neither paused, aborted nor squeezed for it', async () => {
    const { mem, events } = await open({ ...plainLayers, hot: { maxBytes: 20_000 }, pressure: { scopeWaitMs: 0 } })
    const running = await mem.openScope('running', { quotaBytes: 100 })
    await fill(mem)
    const report = await mem.checkPressure()
    const { embeddings, tiers } = await mem.stats()
    expect(embeddings.index.bytes).toBeGreaterThan(20_000)
    // Honest: the hot budget is over, and the level says so.
    expect(report.level).toBe('emergency')
    expect(report.signals.find((s) => s.source === 'budget:hot')!.used).toBeGreaterThanOrEqual(embeddings.index.bytes)
    // What demotion can do, it does: no entry stays hot.
    expect(tiers.hot.count).toBe(0)
    const alerts = () => events.alert.filter((a) => a.name === 'index_over_budget')
    expect(alerts()).toEqual([
      { name: 'index_over_budget', severity: 'warning', detail: expect.objectContaining({ indexBytes: embeddings.index.bytes, hotBudget: 20_000 }) },
    ])
    // Pausing or aborting a task frees none of the index.
    expect(running.signal.aborted).toBe(false)
    await expect(mem.openScope('new')).resolves.toMatchObject({ taskId: 'new' })
    await expect(running.put('a', value(95))).resolves.toMatchObject({ key: 'running:a' }) // the whole quota, not 80 % of it
    await mem.checkPressure()
    expect(alerts()).toHaveLength(1)
    await mem.close()
  })

  it('scopes still pause for another short resource beside it, and are aborted at its emergency', async () => {
    const { mem } = await open({ ...plainLayers, hot: { maxBytes: 20_000 }, cold: { maxBytes: 1000 }, pressure: { scopeWaitMs: 0 } })
    const running = await mem.openScope('running')
    await fill(mem)
    await mem.put('pinned', value(850), { tier: 'cold', evictable: false }) // cold at 0.85: critical
    await mem.checkPressure()
    await expect(mem.openScope('t')).rejects.toMatchObject({ code: 'SCOPE_PAUSED' })
    expect(running.signal.aborted).toBe(false)
    await mem.put('pinned2', value(120), { tier: 'cold', evictable: false }) // 0.97: emergency
    await mem.checkPressure()
    expect(running.signal.aborted).toBe(true)
    await mem.close()
  })
})

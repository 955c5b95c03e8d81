import { describe, expect, it } from 'vitest'
import type { SignalSource } from '../../src/core/index.ts'
import { open, plainLayers } from './helpers.ts'

/** A signal whose reading the test sets. */
function dial(source: string, resource: 'memory' | 'storage', limit = 1000) {
  const state = { used: 0 as number | undefined, fail: false }
  const signal: SignalSource = {
    source,
    resource,
    sample() {
      if (state.fail) throw new Error('sensor broke')
      return state.used === undefined ? undefined : { used: state.used, limit }
    },
  }
  return { signal, state }
}
const value = (n: number) => 'x'.repeat(n <= 32 ? n - 1 : n <= 257 ? n - 2 : n - 3)

describe('external pressure signals', () => {
  it('are reported with their source, and left out when unavailable (never faked)', async () => {
    const heap = dial('heap', 'memory')
    const { mem } = await open({ ...plainLayers, signals: [heap.signal] })
    heap.state.used = 420
    let report = await mem.checkPressure()
    expect(report.signals).toContainEqual({ source: 'heap', used: 420, limit: 1000, ratio: 0.42 })
    heap.state.used = undefined
    report = await mem.checkPressure()
    expect(report.signals.map((s) => s.source)).not.toContain('heap')
    await mem.close()
  })

  it('memory pressure from the heap demotes hot entries, loses nothing, and the level walks back down', async () => {
    const heap = dial('heap', 'memory')
    const { mem, events } = await open({ ...plainLayers, signals: [heap.signal] })
    for (let i = 0; i < 10; i++) await mem.put(`k${i}`, value(100))
    heap.state.used = 850 // critical
    await mem.checkPressure()
    expect(events.pressure.at(-1)).toMatchObject({ level: 'critical' })
    expect(events.alert).toContainEqual(expect.objectContaining({ name: 'memory_critical', severity: 'warning' }))
    expect((await mem.stats()).tiers.hot.count).toBeLessThan(10)
    expect(events.evicted).toEqual([])
    heap.state.used = 760 // below critical but within its hysteresis band: stays
    expect((await mem.checkPressure()).level).toBe('critical')
    heap.state.used = 500
    expect((await mem.checkPressure()).level).toBe('normal')
    for (let i = 0; i < 10; i++) expect(await mem.get(`k${i}`)).toBe(value(100))
    await mem.close()
  })

  it('storage pressure moves warm entries to cold, and deletes evictable ones only at emergency', async () => {
    const quota = dial('storage', 'storage')
    const { mem, events } = await open({ ...plainLayers, signals: [quota.signal] })
    for (let i = 0; i < 10; i++) await mem.put(`w${i}`, value(100), { tier: 'warm', importance: i / 10 })
    quota.state.used = 820
    await mem.checkPressure()
    const stats = await mem.stats()
    expect(stats.tiers.cold.count).toBeGreaterThan(0)
    expect(events.evicted).toEqual([])
    quota.state.used = 990
    await mem.checkPressure()
    expect(events.alert).toContainEqual(expect.objectContaining({ name: 'memory_emergency', severity: 'critical' }))
    expect(events.evicted.length).toBeGreaterThan(0)
    expect(events.evicted.every((e) => e.reason === 'pressure')).toBe(true)
    expect(events.evicted[0]!.key).toBe('w0') // lowest importance first
    await mem.close()
  })

  it('a failing source is counted as a fallback and reported, and the others keep working', async () => {
    const broken = dial('broken', 'storage')
    const heap = dial('heap', 'memory')
    const { mem, events } = await open({ ...plainLayers, signals: [broken.signal, heap.signal] })
    broken.state.fail = true
    heap.state.used = 100
    const report = await mem.checkPressure()
    expect(report.signals.map((s) => s.source)).toContain('heap')
    expect(report.signals.map((s) => s.source)).not.toContain('broken')
    expect((await mem.stats()).totals.fallbacks).toBe(1)
    expect(events.alert).toContainEqual(expect.objectContaining({ name: 'signal-failed:broken' }))
    await mem.close()
  })

  it('rejects malformed signal sources', async () => {
    await expect(open({ signals: [{ source: 'x', resource: 'cpu', sample: () => undefined } as unknown as SignalSource] })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    })
  })
})

describe('metrics and health', () => {
  it('counts operations and reports rates per second between checks', async () => {
    const { mem } = await open(plainLayers)
    await mem.put('a', 1)
    await new Promise((r) => setTimeout(r, 20)) // rates need elapsed wall time
    for (let i = 0; i < 50; i++) await mem.get('a')
    await mem.checkPressure()
    const stats = await mem.stats()
    expect(stats.totals).toMatchObject({ gets: 50, puts: 1 })
    expect(stats.rates.gets).toBeGreaterThan(0)
    expect(stats.hitRate.hot).toBe(1)
    await mem.close()
  })

  it('cold store figures are fresh after every cold write (the cache never serves a stale size)', async () => {
    const { mem } = await open(plainLayers)
    await mem.put('c1', 'x'.repeat(500), { tier: 'cold' })
    const first = (await mem.stats()).cold.logicalBytes
    await mem.put('c2', 'y'.repeat(500), { tier: 'cold' })
    const second = (await mem.stats()).cold.logicalBytes
    expect(second).toBeGreaterThan(first)
    await mem.delete('c1')
    expect((await mem.stats()).cold.logicalBytes).toBeLessThan(second)
    await mem.close()
  })

  it('latency histograms have constant size and can be switched off', async () => {
    const on = await open(plainLayers)
    await on.mem.put('w', 1, { tier: 'warm' })
    for (let i = 0; i < 5; i++) await on.mem.get('w')
    expect((await on.mem.stats()).latency.warm.count).toBeGreaterThan(0)
    await on.mem.close()
    const off = await open({ ...plainLayers, metrics: false })
    await off.mem.put('w', 1, { tier: 'warm' })
    for (let i = 0; i < 5; i++) await off.mem.get('w')
    const stats = await off.mem.stats()
    expect(stats.latency.warm.count).toBe(0)
    expect(stats.totals.gets).toBe(5)
    await off.mem.close()
  })

  it('hot latency has a figure from getMany batches, not only from one get in 256', async () => {
    const { mem } = await open(plainLayers)
    await mem.putMany(Array.from({ length: 20 }, (_, i) => ({ key: `h${i}`, value: i })))
    for (let round = 0; round < 5; round++) await mem.getMany(Array.from({ length: 20 }, (_, i) => `h${i}`))
    const { latency } = await mem.stats()
    expect(latency.hot.count).toBe(5)
    expect(latency.hot.p95).toBeGreaterThan(0)
    await mem.close()
  })

  it('raises a health alert once when the score falls, with the recommendations', async () => {
    const quota = dial('storage', 'storage')
    const { mem, events } = await open({ ...plainLayers, signals: [quota.signal] })
    await mem.put('pinned', value(100), { evictable: false, tier: 'warm' })
    for (let i = 0; i < 120; i++) await mem.get(`missing${i}`) // hot hit rate 0
    quota.state.used = 980 // emergency, and nothing can be deleted
    await mem.checkPressure()
    await mem.checkPressure()
    const health = events.alert.filter((a) => a.name === 'health')
    expect(health).toHaveLength(1)
    expect(health[0]).toMatchObject({ severity: 'warning' })
    const detail = health[0]!.detail as { score: number; recommendations: Array<{ type: string }> }
    expect(detail.score).toBeLessThan(60)
    expect(detail.recommendations.map((r) => r.type)).toEqual(expect.arrayContaining(['utilisation', 'hit-rate']))
    await mem.close()
  })
})

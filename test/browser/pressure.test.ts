import { describe, expect, it } from 'vitest'
import { openMemory } from '../../src/index.ts'

const plain = { maintenanceIntervalMs: 0, policy: { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' as const } } } }
const unique = (what: string) => `${what}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`

describe('pressure in Chromium', () => {
  it('reads the real signals where they exist and reports each with its source', async () => {
    const mem = await openMemory({ name: unique('signals'), ...plain })
    await mem.put('k', { text: 'something to store' }, { tier: 'warm' })
    const report = await mem.checkPressure()
    const bySource = Object.fromEntries(report.signals.map((s) => [s.source, s]))
    // navigator.storage.estimate(), sampled inside the worker.
    expect(bySource.storage).toBeDefined()
    expect(bySource.storage!.limit).toBeGreaterThan(0)
    // performance.memory is null in workers: the page samples it and forwards it.
    expect(bySource.heap).toBeDefined()
    expect(bySource.heap!.used).toBeGreaterThan(0)
    expect(bySource.heap!.limit).toBeGreaterThan(bySource.heap!.used)
    for (const source of ['budget:hot', 'budget:warm', 'budget:cold']) expect(bySource[source]).toBeDefined()
    console.log('Chromium signals:', JSON.stringify(report.signals))
    expect(typeof (await mem.isPersisted())).toBe('boolean')
    expect(typeof (await mem.requestPersistence())).toBe('boolean')
    await mem.close()
  })

  it('filling a small budget walks the levels up and back down without losing a durable entry', async () => {
    const mem = await openMemory({ name: unique('walk'), ...plain, warm: { maxBytes: 20_000 }, pressure: { checkIntervalMs: 0, scopeWaitMs: 0 } })
    const levels: string[] = []
    await mem.on('pressure', (r) => levels.push(r.level))
    const text = 'a note the assistant keeps about the user; '.repeat(10)
    for (let i = 0; i < 60; i++) await mem.put(`n${i}`, { i, text }, { tier: 'warm' })
    // Writes keep warm within its working size (65 %): the overflow went to cold, no level rose.
    expect(levels).toEqual([])
    expect((await mem.stats()).tiers.cold.count).toBeGreaterThan(0)
    // A budget lowered at run time is real pressure: warm at ~87 % of the new one is critical.
    const used = (await mem.stats()).pressure.signals.find((signal) => signal.source === 'budget:warm')!.used
    await mem.configure({ warm: { maxBytes: Math.round(used / 0.87) } })
    await mem.checkPressure()
    expect(levels).toContain('critical')
    // Relief moved entries to compressed cold: below critical.
    const stats = await mem.stats()
    expect(['warning', 'normal']).toContain(stats.pressure.level)
    const all = await mem.getMany(Array.from({ length: 60 }, (_, i) => `n${i}`))
    expect(all.every((v, i) => (v as { i: number }).i === i)).toBe(true)
    // The rest of the walk down: the application forgets what it no longer needs.
    for (let i = 0; i < 60; i += 2) await mem.delete(`n${i}`)
    await mem.put('n0', { i: 0, text })
    expect((await mem.checkPressure()).level).toBe('normal')
    expect(levels.at(-1)).toBe('normal')
    const kept = Array.from({ length: 30 }, (_, j) => `n${2 * j + 1}`)
    const values = await mem.getMany(kept)
    expect(values.every((v, j) => (v as { i: number }).i === 2 * j + 1)).toBe(true)
    await mem.close()
  })
})

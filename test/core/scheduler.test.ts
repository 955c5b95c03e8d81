import { describe, expect, it } from 'vitest'
import type { Scheduler } from '../../src/core/index.ts'
import { fakeClock, fakeScheduler, HOUR, open, plainLayers } from './helpers.ts'

describe('an injected scheduler drives every engine timer', () => {
  it('runs maintenance and the pressure monitor on fake time, and close() leaves no timer behind', async () => {
    const clock = fakeClock()
    const fake = fakeScheduler(clock)
    let samples = 0
    const signals = [{ source: 'test', resource: 'memory' as const, sample: () => void samples++ }]
    const h = await open({ ...plainLayers, scheduler: fake.scheduler, signals, maintenanceIntervalMs: HOUR, pressure: { checkIntervalMs: 1000 } }, clock)
    expect(fake.pending()).toBe(2)
    await h.mem.put('short', 'lived', { ttlMs: 1000 })
    // The monitor samples its signals only when the scheduler says so.
    expect(samples).toBe(0)
    await fake.advance(1000)
    expect(samples).toBe(1)
    await fake.advance(2000)
    expect(samples).toBe(3)
    // Maintenance (gc) evicts the expired entry on its tick, with no wall-clock wait.
    expect(h.events.evicted.map((e) => e.key)).not.toContain('short')
    await fake.advance(HOUR)
    expect(h.events.evicted.map((e) => e.key)).toContain('short')
    expect(fake.pending()).toBe(2)
    const sampled = samples
    await h.mem.close()
    expect(fake.pending()).toBe(0)
    await fake.advance(10 * HOUR)
    expect(samples).toBe(sampled)
  })

  it('a scope opened under critical pressure waits on the scheduler, then fails with SCOPE_PAUSED', async () => {
    const clock = fakeClock()
    const fake = fakeScheduler(clock)
    const { mem } = await open(
      { ...plainLayers, scheduler: fake.scheduler, cold: { maxBytes: 1000 }, pressure: { scopeWaitMs: 5000, checkIntervalMs: 0 } },
      clock,
    )
    await mem.put('pinned', 'x'.repeat(850), { tier: 'cold', evictable: false })
    await mem.flush()
    let settled: unknown
    const opening = mem.openScope('t').then(
      (s) => (settled = s),
      (e: unknown) => (settled = e),
    )
    await fake.advance(4999)
    expect(settled).toBeUndefined()
    await fake.advance(1)
    await opening
    expect(settled).toMatchObject({ code: 'SCOPE_PAUSED' })
    expect(fake.pending()).toBe(0)
    await mem.close()
  })

  it('refuses a scheduler without setTimeout and clearTimeout', async () => {
    await expect(open({ scheduler: { setTimeout: () => 1 } as unknown as Scheduler })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
  })
})

describe('an engine loop whose task fails', () => {
  it('reports the failure as uncaught and runs again on the next tick', async () => {
    const { EngineTimers } = await import('../../src/core/engine/scheduler.ts')
    const fake = fakeScheduler(fakeClock())
    const reported: unknown[] = []
    const saved = (globalThis as { reportError?: unknown }).reportError
    ;(globalThis as { reportError?: unknown }).reportError = (error: unknown) => reported.push(error)
    try {
      const timers = new EngineTimers(fake.scheduler)
      let runs = 0
      timers.every(1000, async () => {
        runs++
        throw new Error(`run ${runs} failed`)
      })
      await fake.advance(3000)
      expect(runs).toBe(3)
      expect(reported.map((e) => (e as Error).message)).toEqual(['run 1 failed', 'run 2 failed', 'run 3 failed'])
      timers.cancelAll()
      expect(fake.pending()).toBe(0)
    } finally {
      ;(globalThis as { reportError?: unknown }).reportError = saved
    }
  })
})

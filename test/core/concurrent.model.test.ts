import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createMemory } from '../../src/core/index.ts'
import { memoryStore, memoryStoreData } from '../../src/core/store/memory-store.ts'
import { cutCalls, runRounds, rounds, type ModelTarget } from '../model/concurrent-model.ts'
import { crashingStore, fakeClock, plainLayers } from './helpers.ts'

/** In-process: stores that die after a given number of batches stand in for a killed process; time is the test's. */
function nodeTarget(): ModelTarget {
  const warm = memoryStoreData()
  const cold = memoryStoreData()
  const clock = fakeClock()
  let counter = { remaining: Number.POSITIVE_INFINITY }
  return {
    clock,
    open() {
      counter = { remaining: Number.POSITIVE_INFINITY }
      return createMemory({
        ...plainLayers,
        maintenanceIntervalMs: 0,
        clock,
        pressure: { checkIntervalMs: 0 },
        stores: { warm: crashingStore(memoryStore({ data: warm }), counter), cold: crashingStore(memoryStore({ data: cold }), counter) },
      })
    },
    armCrash(at) {
      counter.remaining = Math.floor(at * 6)
    },
    async crashNow() {
      counter.remaining = -1
    },
  }
}

describe('model-based, with calls issued together: in-process', () => {
  it('every answer and every reopen agree with a Map that took the calls in issue order', { timeout: 120_000 }, async () => {
    cutCalls.count = 0
    await fc.assert(
      fc.asyncProperty(rounds(6, { withClock: true }), (plan) => runRounds(nodeTarget(), plan)),
      { numRuns: Number(process.env.TIERMEM_MODEL_RUNS ?? 300) },
    )
    expect(cutCalls.count, 'calls cut by crashes').toBeGreaterThan(0)
  })
})

describe('a getMany over warm and cold whose stores both fail', () => {
  it('rejects once, with no unhandled rejection left behind', async () => {
    const counter = { remaining: Number.POSITIVE_INFINITY }
    const mem = await createMemory({
      ...plainLayers,
      maintenanceIntervalMs: 0,
      pressure: { checkIntervalMs: 0 },
      stores: { warm: crashingStore(memoryStore(), counter), cold: crashingStore(memoryStore(), counter) },
    })
    await mem.put('w', 1, { tier: 'warm' })
    await mem.put('c', 2, { tier: 'cold' })
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      counter.remaining = -1
      await expect(mem.getMany(['w', 'c'])).rejects.toThrow(/simulated crash/)
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })
})

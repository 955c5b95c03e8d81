import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { openMemory } from '../../src/index.ts'
import { cutCalls, runRounds, rounds, type ModelTarget } from '../model/concurrent-model.ts'

const plain = { policy: { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' as const } } }, maintenanceIntervalMs: 0 }
const spawn = () => new Worker(new URL('../../worker/tiermem.worker.ts', import.meta.url), { type: 'module' })

/**
 * Through the page client, the worker, IndexedDB and OPFS: the page coalesces the puts of one
 * turn into one message, and the ordering rule must hold through it. A crash is the worker
 * terminated part-way through a batch.
 */
function browserTarget(): ModelTarget {
  const name = `model-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`
  let worker: Worker | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  return {
    open() {
      worker = spawn()
      return openMemory({ name, worker, ...plain })
    },
    armCrash(at) {
      const victim = worker
      timer = setTimeout(() => victim?.terminate(), Math.floor(at * 25))
    },
    async crashNow() {
      clearTimeout(timer)
      worker?.terminate()
    },
  }
}

describe('model-based, with calls issued together: openMemory() in Chromium', () => {
  it('every answer and every reopen agree with a Map that took the calls in issue order', { timeout: 240_000 }, async () => {
    cutCalls.count = 0
    await fc.assert(
      fc.asyncProperty(rounds(5), (plan) => runRounds(browserTarget(), plan)),
      { numRuns: 25 },
    )
    expect(cutCalls.count, 'calls cut by crashes').toBeGreaterThan(0)
  })
})

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

/**
 * Through a follower: a second openMemory() of the same name in this page follows the first (Web
 * Locks) and sends every call to the leader's worker over a MessagePort. The order rule must hold
 * across that hop too. No crashes here: a call in flight when the leader goes is sent again or
 * rejected with LEADER_CHANGED (tested in open-memory.test.ts and e2e/tabs.spec.ts), which is not
 * the prefix rule this model checks.
 */
function followerTarget(): ModelTarget {
  const name = `model-follower-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`
  return {
    async open() {
      const leader = await openMemory({ name, ...plain })
      const follower = await openMemory({ name, ...plain })
      if (follower.role !== 'follower') throw new Error(`the second open is the ${follower.role}, not a follower`)
      // Closing the memory under test closes the tab that leads it too: the next open starts both afresh.
      return new Proxy(follower, {
        get(target, property) {
          if (property === 'close') return () => target.close().finally(() => leader.close())
          const value: unknown = Reflect.get(target, property)
          return typeof value === 'function' ? value.bind(target) : value
        },
      })
    },
    armCrash() {},
    async crashNow() {},
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

  it('through a follower tab: every answer and every reopen agree with the Map', { timeout: 240_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(rounds(5), (plan) => runRounds(followerTarget(), plan)),
      { numRuns: 20 },
    )
  })
})

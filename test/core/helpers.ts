import { createMemory, type Memory, type MemoryEvents, type MemoryOptions, type Scheduler } from '../../src/core/index.ts'
import { memoryStore, memoryStoreData, type MemoryStoreData } from '../../src/core/store/memory-store.ts'
import type { Store, StoreOp } from '../../src/core/store/store.ts'

export const MINUTE = 60_000
export const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR

export interface FakeClock {
  now(): number
  advance(ms: number): void
  set(ms: number): void
}

export function fakeClock(start = 1_700_000_000_000): FakeClock {
  let t = start
  return { now: () => t, advance: (ms) => void (t += ms), set: (ms) => void (t = ms) }
}

export interface Harness {
  mem: Memory
  clock: FakeClock
  warm: MemoryStoreData
  cold: MemoryStoreData
  events: { [E in keyof MemoryEvents]: MemoryEvents[E][] }
  /** Closes the memory and opens a new one over the same stored data. */
  reopen(options?: MemoryOptions): Promise<Memory>
}

/** A memory over shared in-memory data with a fake clock and every event recorded. */
export async function open(options: MemoryOptions = {}, clock = fakeClock()): Promise<Harness> {
  const warm = memoryStoreData()
  const cold = memoryStoreData()
  const make = (extra: MemoryOptions) =>
    createMemory({
      maintenanceIntervalMs: 0,
      ...extra,
      pressure: { checkIntervalMs: 0, ...extra.pressure },
      clock,
      stores: { warm: memoryStore({ data: warm }), cold: memoryStore({ data: cold }) },
    })
  const events = { promoted: [], demoted: [], evicted: [], pressure: [], alert: [], cleanup: [], layerChanged: [], reembedded: [] } as Harness['events']
  const record = async (mem: Memory) => {
    for (const name of Object.keys(events) as Array<keyof MemoryEvents>) {
      await mem.on(name, (e) => (events[name] as unknown[]).push(e))
    }
  }
  const harness: Harness = {
    mem: await make(options),
    clock,
    warm,
    cold,
    events,
    async reopen(next = options) {
      await harness.mem.close()
      harness.mem = await make(next)
      await record(harness.mem)
      return harness.mem
    },
  }
  await record(harness.mem)
  return harness
}

/**
 * A memory with plain layers, no background timers and a fake clock, over store data the test
 * holds itself (to reopen it, share it or damage it between opens).
 */
export function openOver(warm: MemoryStoreData, cold: MemoryStoreData, clock: FakeClock, options: MemoryOptions = {}): Promise<Memory> {
  return createMemory({
    ...plainLayers,
    maintenanceIntervalMs: 0,
    ...options,
    pressure: { checkIntervalMs: 0, ...options.pressure },
    clock,
    // The tiers are always these; record files pass through.
    stores: { ...(options.stores?.records ? { records: options.stores.records } : {}), warm: memoryStore({ data: warm }), cold: memoryStore({ data: cold }) },
  })
}

/** Options for tests that want plain key/value behaviour: one permanent layer without capacity. */
export const plainLayers: MemoryOptions = {
  policy: { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' } } },
}

/**
 * A store that dies: after `liveBatches` successful batches every call fails, the way a
 * killed worker stops mid-sequence. The data under it is what a reopened store sees.
 */
export function crashingStore(inner: Store, counter: { remaining: number }): Store {
  const dead = () => Promise.reject(new Error('simulated crash: the process is gone'))
  return {
    backend: inner.backend,
    capabilities: inner.capabilities,
    getMany: (space, keys) => (counter.remaining < 0 ? dead() : inner.getMany(space, keys)),
    batch: (ops: readonly StoreOp[]) => {
      if (counter.remaining <= 0) {
        counter.remaining = -1
        return dead()
      }
      counter.remaining--
      return inner.batch(ops)
    },
    scan: (space, options) => (counter.remaining < 0 ? dead() : inner.scan(space, options)),
    stats: () => inner.stats(),
    close: () => inner.close(),
  }
}

/** Fake time for the engine's timers: nothing runs until the test advances it. */
export function fakeScheduler(clock: { advance(ms: number): void }) {
  let now = 0
  let nextId = 1
  const timers = new Map<number, { at: number; fn: () => void }>()
  const scheduler: Scheduler = {
    setTimeout(fn, ms) {
      const id = nextId++
      timers.set(id, { at: now + ms, fn })
      return id
    },
    clearTimeout(handle) {
      timers.delete(handle as number)
    },
  }
  return {
    scheduler,
    pending: () => timers.size,
    /** Moves time on, running each due timer (and what it awaits) in order. */
    async advance(ms: number) {
      const end = now + ms
      for (;;) {
        const due = [...timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0]
        if (!due) break
        clock.advance(due[1].at - now)
        now = due[1].at
        timers.delete(due[0])
        due[1].fn()
        for (let i = 0; i < 50; i++) await Promise.resolve()
        await new Promise((resolve) => setImmediate(resolve))
      }
      clock.advance(end - now)
      now = end
    },
  }
}

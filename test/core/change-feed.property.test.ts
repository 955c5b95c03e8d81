import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createMemory, type Memory } from '../../src/core/index.ts'
import { ENGINE_INTERNALS, type EngineInternals } from '../../src/core/api/internals.ts'
import type { EntryChange } from '../../src/core/engine/change-feed.ts'
import { memoryStore, memoryStoreData } from '../../src/core/store/memory-store.ts'
import { crashingStore, fakeClock, HOUR, plainLayers } from './helpers.ts'

type Op =
  | { kind: 'put'; key: string; ttlMs?: number; tier?: 'hot' | 'warm' | 'cold'; durable: boolean; layer: 'plain' | 'other' }
  | { kind: 'delete' | 'promote' | 'demote' | 'read'; key: string }
  | { kind: 'gc'; advanceMs: number }
  | { kind: 'reopen' | 'crash' }

const key = fc.constantFrom('a', 'b', 'c', 'd')
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('put' as const),
      key,
      ttlMs: fc.option(fc.constantFrom(500, HOUR), { nil: undefined }),
      tier: fc.option(fc.constantFrom('hot' as const, 'warm' as const, 'cold' as const), { nil: undefined }),
      durable: fc.constantFrom(true, true, false),
      layer: fc.constantFrom('plain' as const, 'other' as const),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constantFrom('delete' as const, 'promote' as const, 'demote' as const, 'read' as const), key }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('gc' as const), advanceMs: fc.constantFrom(0, 1000, 10 * 60_000) }) },
  { weight: 1, arbitrary: fc.constantFrom({ kind: 'reopen' as const }, { kind: 'crash' as const }) },
)

interface Seen {
  tier: string
  layer: string
  durable: boolean
}

describe('the change feed', () => {
  it('replayed into a Map, matches the store after random operations, reopens and crashes; durable numbers only grow', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
        const clock = fakeClock()
        const warm = memoryStoreData()
        const cold = memoryStoreData()
        let counter = { remaining: Number.POSITIVE_INFINITY }
        const seen = new Map<string, Seen>()
        let lastSeq = 0
        const follow = (change: EntryChange) => {
          // A durable (journaled) change's number is above every number before it; no change lowers it.
          const durable = change.kind === 'put' ? change.durable : (seen.get(change.key)?.durable ?? true)
          const journaled = durable && (change.kind !== 'tier' || change.to === 'cold' || change.from === 'cold')
          if (journaled) expect(change.seq).toBeGreaterThan(lastSeq)
          else expect(change.seq).toBeGreaterThanOrEqual(lastSeq)
          lastSeq = change.seq
          if (change.kind === 'put') seen.set(change.key, { tier: change.tier, layer: change.layer, durable: change.durable })
          else if (change.kind === 'delete') seen.delete(change.key)
          else if (change.kind === 'tier') seen.get(change.key)!.tier = change.to
          else if (change.kind === 'layer') seen.get(change.key)!.layer = change.to
        }
        const make = async () => {
          counter = { remaining: Number.POSITIVE_INFINITY }
          const mem = await createMemory({
            clock,
            maintenanceIntervalMs: 0,
            pressure: { checkIntervalMs: 0 },
            policy: { ...plainLayers.policy, layers: { plain: { eviction: 'lru_with_importance' }, other: { eviction: 'lru_with_importance' } } },
            stores: { warm: crashingStore(memoryStore({ data: warm }), counter), cold: crashingStore(memoryStore({ data: cold }), counter) },
          })
          ;(mem as unknown as { [ENGINE_INTERNALS]: EngineInternals })[ENGINE_INTERNALS].changes(follow)
          return mem
        }
        // What a reopen does without telling anyone: hot copies are gone, and so is what was never durable.
        const afterReopen = () => {
          for (const [k, s] of seen) {
            if (!s.durable) seen.delete(k)
            else if (s.tier === 'hot') s.tier = 'warm'
          }
        }
        let mem: Memory = await make()
        const compare = async () => {
          await mem.gc()
          const entries = new Map((await mem.query({})).map((e) => [e.key, { tier: e.tier, layer: e.layer }]))
          const replayed = new Map([...seen].map(([k, s]) => [k, { tier: s.tier, layer: s.layer }]))
          // query() hides entries that expired before gc could collect them; there are none after gc.
          expect(replayed).toEqual(entries)
        }
        for (const o of ops) {
          switch (o.kind) {
            case 'put':
              await mem.put(
                o.key,
                { v: o.key },
                { durable: o.durable, layer: o.layer, ...(o.ttlMs ? { ttlMs: o.ttlMs } : {}), ...(o.tier && o.durable ? { tier: o.tier } : {}) },
              )
              break
            case 'delete':
              await mem.delete(o.key)
              break
            case 'read':
              for (let i = 0; i < 12; i++) await mem.get(o.key)
              break
            case 'promote':
            case 'demote':
              await mem[o.kind](o.key).catch(() => undefined)
              break
            case 'gc':
              clock.advance(o.advanceMs)
              await mem.gc()
              break
            case 'reopen':
              await mem.close()
              afterReopen()
              mem = await make()
              break
            case 'crash':
              counter.remaining = -1
              await mem.close().catch(() => undefined)
              afterReopen()
              mem = await make()
              break
          }
          await compare()
        }
        await mem.close()
      }),
      { numRuns: Number(process.env.TIERMEM_MODEL_RUNS ?? 150) },
    )
  })
})

describe('a feed subscriber', () => {
  it('that throws never breaks the write: the error is reported, the put lands, the events still fire', async () => {
    const reported: unknown[] = []
    const saved = (globalThis as { reportError?: unknown }).reportError
    ;(globalThis as { reportError?: unknown }).reportError = (error: unknown) => reported.push(error)
    try {
      const mem = await createMemory({ ...plainLayers, maintenanceIntervalMs: 0, pressure: { checkIntervalMs: 0 } })
      ;(mem as unknown as { [ENGINE_INTERNALS]: EngineInternals })[ENGINE_INTERNALS].changes(() => {
        throw new Error('subscriber bug')
      })
      const evicted: string[] = []
      await mem.on('evicted', (e) => evicted.push(e.key))
      await mem.put('k', 1)
      await mem.delete('k')
      expect(await mem.has('k')).toBe(false)
      expect(evicted).toEqual(['k'])
      expect(reported).toHaveLength(2)
      await mem.close()
    } finally {
      ;(globalThis as { reportError?: unknown }).reportError = saved
    }
  })
})

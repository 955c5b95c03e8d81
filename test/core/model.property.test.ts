import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Memory } from '../../src/core/index.ts'
import { memoryStoreData } from '../../src/core/store/memory-store.ts'
import { fakeClock, openOver } from './helpers.ts'

type Op =
  | { kind: 'put'; key: string; value: unknown; ttlMs?: number; tier?: 'hot' | 'warm' | 'cold'; durable: boolean }
  | { kind: 'delete'; key: string }
  | { kind: 'get'; key: string }
  | { kind: 'getMany'; keys: string[] }
  | { kind: 'gc' }
  | { kind: 'advance'; ms: number }
  | { kind: 'demote' | 'promote'; key: string }
  | { kind: 'reopen' }

const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f')
const value = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.record({ n: fc.integer(), s: fc.string({ maxLength: 10 }) }),
  fc.array(fc.boolean(), { maxLength: 5 }),
)
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('put' as const),
      key,
      value,
      ttlMs: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
      tier: fc.option(fc.constantFrom('hot' as const, 'warm' as const, 'cold' as const), { nil: undefined }),
      durable: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('get' as const), key }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('getMany' as const), keys: fc.array(key, { maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'gc' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.constant(6 * 60_000), fc.constant(25 * 3_600_000)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('demote' as const, 'promote' as const), key }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
)

interface ModelEntry {
  value: unknown
  expiresAt: number
  durable: boolean
}

describe('model-based: the engine behaves like a Map with expiry', () => {
  it('nothing lost, nothing resurrected, across random operations, clock jumps and reopens', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), fc.boolean(), async (ops, concurrent) => {
        const clock = fakeClock()
        const warm = memoryStoreData()
        const cold = memoryStoreData()
        const make = () => openOver(warm, cold, clock)
        let mem: Memory = await make()
        const model = new Map<string, ModelEntry>()
        const visible = (k: string) => {
          const e = model.get(k)
          return e !== undefined && e.expiresAt > clock.now() ? e : undefined
        }
        const check = async (k: string, got: unknown) => expect(got, `value of ${k}`).toEqual(visible(k)?.value)
        for (const o of ops) {
          switch (o.kind) {
            case 'put': {
              const opts = { durable: o.durable, ...(o.ttlMs !== undefined ? { ttlMs: o.ttlMs } : {}), ...(o.tier && o.durable ? { tier: o.tier } : {}) }
              if (concurrent) void mem.put(o.key, o.value, opts)
              else await mem.put(o.key, o.value, opts)
              model.set(o.key, { value: o.value, expiresAt: o.ttlMs === undefined ? Infinity : clock.now() + o.ttlMs, durable: o.durable })
              break
            }
            case 'delete': {
              const removed = await mem.delete(o.key)
              if (visible(o.key)) expect(removed).toBe(true)
              if (!model.has(o.key)) expect(removed).toBe(false)
              model.delete(o.key)
              break
            }
            case 'get':
              await check(o.key, await mem.get(o.key))
              break
            case 'getMany': {
              const got = await mem.getMany(o.keys)
              for (let i = 0; i < o.keys.length; i++) await check(o.keys[i]!, got[i])
              break
            }
            case 'gc':
              await mem.gc()
              break
            case 'advance':
              clock.advance(o.ms)
              break
            case 'demote':
            case 'promote':
              await mem[o.kind](o.key).catch((e: { code?: string }) => expect(e.code).toBe('NOT_FOUND'))
              break
            case 'reopen':
              await mem.close()
              mem = await make()
              for (const [k, e] of model) if (!e.durable) model.delete(k)
              break
          }
        }
        await mem.flush()
        for (const k of ['a', 'b', 'c', 'd', 'e', 'f']) {
          await check(k, await mem.get(k))
          expect(await mem.has(k)).toBe(visible(k) !== undefined)
        }
        const listed = (await mem.query({})).map((e) => e.key).sort()
        expect(listed).toEqual(['a', 'b', 'c', 'd', 'e', 'f'].filter((k) => visible(k) !== undefined))
        await mem.close()
      }),
      { numRuns: Number(process.env.TIERMEM_MODEL_RUNS ?? 200) },
    )
  })
})

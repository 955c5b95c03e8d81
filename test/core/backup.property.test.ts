import fc from 'fast-check'
import { unzipSync } from 'fflate'
import { describe, expect, it } from 'vitest'
import type { Memory } from '../../src/core/index.ts'
import { memoryStoreData } from '../../src/core/store/memory-store.ts'
import { fakeClock, openOver } from './helpers.ts'

/**
 * Model-based: random writes issued together (not awaited one by one), with full and incremental
 * backups between them. Restoring the chain up to any backup, into a fresh memory, gives exactly
 * what the memory held when that backup was taken: nothing lost, nothing resurrected.
 */
type Op =
  | { kind: 'put'; key: string; value: unknown; tier?: 'hot' | 'warm' | 'cold'; importance: number; tags: string[] }
  | { kind: 'delete'; key: string }
  | { kind: 'advance'; ms: number }
  | { kind: 'backup'; incremental: boolean }

const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g')
const value = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.integer(),
  fc.record({ n: fc.integer(), s: fc.string({ maxLength: 8 }) }),
  fc.uint8Array({ maxLength: 20 }),
)
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('put' as const),
      key,
      value,
      tier: fc.option(fc.constantFrom('hot' as const, 'warm' as const, 'cold' as const), { nil: undefined }),
      importance: fc.constantFrom(0.1, 0.5, 0.9),
      tags: fc.array(fc.constantFrom('x', 'y'), { maxLength: 2 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 5000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('backup' as const), incremental: fc.boolean() }) },
)

async function snapshot(mem: Memory): Promise<unknown[]> {
  const entries = (await mem.query({})).sort((x, y) => (x.key < y.key ? -1 : 1))
  return Promise.all(
    entries.map(async (e) => ({ key: e.key, value: await mem.peek(e.key), importance: e.importance, tags: e.tags, createdAt: e.createdAt, type: e.type })),
  )
}

async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

describe('model-based: backups restore exactly what was there', () => {
  it('any prefix of a chain restores the state at its last backup', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
        const clock = fakeClock()
        const mem = await openOver(memoryStoreData(), memoryStoreData(), clock)
        const chains: Array<{ zips: Uint8Array[]; states: unknown[][] }> = []
        let pending: Promise<unknown>[] = []
        const settle = async () => {
          await Promise.allSettled(pending)
          pending = []
        }
        for (const o of ops) {
          if (o.kind === 'put') pending.push(mem.put(o.key, o.value, { ...(o.tier ? { tier: o.tier } : {}), importance: o.importance, tags: o.tags }))
          else if (o.kind === 'delete') pending.push(mem.delete(o.key))
          else if (o.kind === 'advance') {
            await settle()
            clock.advance(o.ms)
          } else {
            await settle()
            const zip = await bytesOf(await mem.backup({ incremental: o.incremental }))
            const state = await snapshot(mem)
            const kind = JSON.parse(new TextDecoder().decode(unzipSync(zip)['manifest.json']!)).kind as string
            if (kind === 'full') chains.push({ zips: [], states: [] })
            chains.at(-1)!.zips.push(zip)
            chains.at(-1)!.states.push(state)
          }
        }
        await settle()
        for (const chain of chains) {
          for (let n = 1; n <= chain.zips.length; n++) {
            const target = await openOver(memoryStoreData(), memoryStoreData(), clock)
            await target.restoreBackup(chain.zips.slice(0, n))
            expect(await snapshot(target)).toEqual(chain.states[n - 1])
            await target.close()
          }
        }
        await mem.close()
      }),
      { numRuns: 40 },
    )
  })
})

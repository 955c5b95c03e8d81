import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Miniflare } from 'miniflare'
import { createMemory } from '../../src/core/index.ts'
import type { Store, StoreOp } from '../../src/core/store/store.ts'
import { defineStoreContract } from '../contract/store-contract.ts'
import { crashingStore, fakeClock, plainLayers } from '../core/helpers.ts'
import { cutCalls, rounds, runRounds, type ModelTarget } from '../model/concurrent-model.ts'
import { bundleTestWorker, remoteSqlStore, startWorkerd } from './cloudflare/workerd.ts'
import { remoteKvStore, startDenoHost, type DenoHost } from './deno/deno-host.ts'

/**
 * The edge stores where they run: the Durable Object store inside workerd (Miniflare), passing
 * the same contract as every other store; the KV store under Deno. The assertions run here in
 * Node; every store call crosses into the runtime.
 */
let mf: Miniflare
let deno: DenoHost
beforeAll(async () => {
  ;[mf, deno] = await Promise.all([bundleTestWorker().then((script) => startWorkerd(script)), startDenoHost({ tokens: {} })])
}, 90_000)
afterAll(async () => {
  await Promise.all([mf?.dispose(), deno?.stop()])
})

let tables = 0
const tableOf = new WeakMap<Store, { table: string; compressed: boolean }>()
for (const compressed of [false, true]) {
  defineStoreContract(`Durable Object SQLite${compressed ? ', compressed (the cold tier)' : ''} (workerd)`, {
    async create() {
      const table = `contract_${++tables}`
      const store = await remoteSqlStore(mf, 'contract', table, compressed)
      tableOf.set(store, { table, compressed })
      return store
    },
    async reopen(store) {
      const { table } = tableOf.get(store)!
      return remoteSqlStore(mf, 'contract', table, compressed)
    },
  })
}

let r2Prefixes = 0
const r2PrefixOf = new WeakMap<Store, string>()
defineStoreContract('R2, the cold tier given a bucket (workerd)', {
  async create() {
    const prefix = `r2-contract-${++r2Prefixes}`
    const store = await remoteSqlStore(mf, 'contract', prefix, false, true)
    r2PrefixOf.set(store, prefix)
    return store
  },
  async reopen(store) {
    return remoteSqlStore(mf, 'contract', r2PrefixOf.get(store)!, false, true)
  },
})

// The Deno KV store's contract runs under `deno test` itself (kv-store.deno-test.ts); here, its
// limits and its recovery, through the Deno host.
let prefixes = 0

const put = (key: string, value: Uint8Array): StoreOp => ({ type: 'put', space: 'values', key, value })
// toEqual walks megabytes element by element (seconds); one Buffer comparison does not.
const same = (a: Uint8Array | undefined, b: Uint8Array) => a !== undefined && Buffer.compare(a, b) === 0
const pattern = (bytes: number, seed: number) => Uint8Array.from({ length: bytes }, (_, i) => (i * 31 + seed) & 255)

describe('the edge stores within their platforms’ limits', () => {
  const stores = () =>
    [
      ['Durable Object SQLite', () => remoteSqlStore(mf, 'limits', `limits_${++tables}`, false)],
      ['Deno KV', () => remoteKvStore(deno, ['limits', String(++prefixes)])],
    ] as const

  it('keeps values larger than one row or one KV value (in parts) and frees the parts on overwrite and delete', async () => {
    for (const [, open] of stores()) {
      const store = await open()
      const big = pattern(3 * 1024 * 1024 + 7, 1)
      await store.batch([put('big', big), put('small', pattern(10, 2))])
      expect(same((await store.getMany('values', ['big']))[0], big)).toBe(true)
      const smaller = pattern(200 * 1024, 3)
      await store.batch([put('big', smaller)])
      expect(same((await store.getMany('values', ['big', 'small']))[0], smaller)).toBe(true)
      expect((await store.scan('values')).map(([k, v]) => [k, v.byteLength])).toEqual([
        ['big', smaller.byteLength],
        ['small', 10],
      ])
      await store.batch([{ type: 'delete', space: 'values', key: 'big' }])
      expect((await store.stats()).logicalBytes).toBe(10)
      await store.close()
    }
    // Deno: no part outlives the value that named it.
    const leftovers = (await deno.call({ op: 'raw-list', prefix: ['limits'] })) as Array<{ key: unknown[] }>
    expect(leftovers.filter(({ key }) => key[2] === 'p' || key[2] === 'pending' || key[2] === 'big')).toEqual([])
  }, 60_000)

  it('commits a batch past KV’s 1,000 mutations and 800 KiB whole, and refuses a bad one whole', async () => {
    for (const [, open] of stores()) {
      const store = await open()
      const ops = Array.from({ length: 2500 }, (_, i) => put(`k${String(i).padStart(5, '0')}`, pattern(700, i)))
      await store.batch(ops)
      const got = await store.getMany(
        'values',
        ops.map((op) => (op as { key: string }).key),
      )
      expect(got.every((v, i) => v !== undefined && v.byteLength === 700 && v[0] === (i & 255))).toBe(true)
      const bad = [
        ...ops.slice(0, 1500).map((op) => ({ ...op, value: pattern(10, 9) }) as StoreOp),
        { type: 'put', space: 'values', key: '', value: pattern(1, 1) } as StoreOp,
      ]
      await expect(store.batch(bad)).rejects.toMatchObject({ code: 'INVALID_KEY' })
      expect((await store.getMany('values', ['k00000']))[0]!.byteLength).toBe(700)
      await store.close()
    }
  }, 120_000)
})

describe('Deno KV store after a crash', () => {
  it('finishes a committed redo log, drops an uncommitted one, and deletes parts no commit named', async () => {
    const prefix = ['crash', String(++prefixes)]
    const record = (key: string) => [...prefix, 'r', 'values', key]
    // What a crash leaves: txn 'a' committed but not applied, txn 'b' logged but not committed,
    // and parts of a value whose batch never committed.
    await deno.call({
      op: 'raw-set',
      args: [
        { key: [...prefix, 'log', 'a', 0], value: { key: record('applied'), value: pattern(5, 1) } },
        { key: [...prefix, 'log', 'a', 1], value: { key: record('gone') } },
        { key: [...prefix, 'committed', 'a'], value: 2 },
        { key: [...prefix, 'log', 'b', 0], value: { key: record('never'), value: pattern(5, 2) } },
        { key: [...prefix, 'pending', 'p1'], value: { id: 'p1', parts: 2, length: 70_000 } },
        { key: [...prefix, 'p', 'p1', 0], value: pattern(100, 3) },
        { key: [...prefix, 'p', 'p1', 1], value: pattern(100, 4) },
        { key: record('gone'), value: pattern(3, 3) },
      ],
    })
    const store = await remoteKvStore(deno, prefix)
    expect(await store.getMany('values', ['applied', 'gone', 'never'])).toEqual([pattern(5, 1), undefined, undefined])
    const left = (await deno.call({ op: 'raw-list', prefix })) as Array<{ key: unknown[] }>
    expect(left.map(({ key }) => key.slice(2).join('/'))).toEqual(['r/values/applied'])
    await store.close()
  }, 60_000)
})

/**
 * The concurrent model (test/model) with the engine here in Node and both of its stores in the
 * runtime: calls issued together, TTLs on the test's clock, crashes part-way through a batch. A
 * crash waits for the store calls already sent: a dead process's writes never land after it restarts.
 */
describe('the engine over the edge stores: calls issued together, reopens and crashes', () => {
  function edgeTarget(warm: () => Promise<Store>, cold: () => Promise<Store>): ModelTarget {
    const clock = fakeClock()
    let counter = { remaining: Number.POSITIVE_INFINITY }
    const inFlight = new Set<Promise<unknown>>()
    const tracked = (store: Store): Store => {
      const track = <T>(p: Promise<T>) => (inFlight.add(p), p.finally(() => inFlight.delete(p)))
      // The engine hands stores views into larger buffers (and in Node, msgpackr's Buffers); the hop to the runtime takes plain whole arrays.
      const sendable = (ops: readonly StoreOp[]) => ops.map((op) => (op.type === 'put' ? { ...op, value: new Uint8Array(op.value) } : op))
      return {
        ...store,
        getMany: (...a) => track(store.getMany(...a)),
        batch: (ops) => track(store.batch(sendable(ops))),
        scan: (...a) => track(store.scan(...a)),
      }
    }
    return {
      clock,
      async open() {
        counter = { remaining: Number.POSITIVE_INFINITY }
        const stores = { warm: crashingStore(tracked(await warm()), counter), cold: crashingStore(tracked(await cold()), counter) }
        return createMemory({ ...plainLayers, maintenanceIntervalMs: 0, clock, pressure: { checkIntervalMs: 0 }, stores })
      },
      armCrash(at) {
        counter.remaining = Math.floor(at * 6)
      },
      async crashNow() {
        counter.remaining = -1
        await Promise.allSettled([...inFlight])
      },
    }
  }
  let runs = 0
  // Each plan gets tables (or a prefix) of its own: its warm and cold stores, by run.
  const runtimes: Array<[string, (run: number) => [() => Promise<Store>, () => Promise<Store>]]> = [
    [
      'Durable Object SQLite warm, R2 cold (workerd)',
      (run) => [() => remoteSqlStore(mf, 'model', `model_${run}`, false), () => remoteSqlStore(mf, 'model', `model-cold-${run}`, false, true)],
    ],
    ['Deno KV, both tiers', (run) => [() => remoteKvStore(deno, ['model', String(run), 'warm']), () => remoteKvStore(deno, ['model', String(run), 'cold'])]],
  ]
  for (const [name, storesOf] of runtimes) {
    it(`${name}: every answer and reopen agree with the model`, { timeout: 240_000 }, async () => {
      cutCalls.count = 0
      await fc.assert(
        fc.asyncProperty(rounds(4, { withClock: true }), (plan) => runRounds(edgeTarget(...storesOf(++runs)), plan)),
        { numRuns: 30 },
      )
      expect(cutCalls.count, 'calls cut by crashes').toBeGreaterThan(0)
    })
  }
})

/**
 * The store contract under `deno test`, in Deno's own process against real Deno KV files:
 * `deno test --unstable-kv --config test/edge/deno/deno.json` (npm run test:deno).
 */
import { defineStoreContract } from '../../contract/store-contract.ts'
import { denoKvStore } from '../../../src/edge/deno/index.ts'
import type { Store } from '../../../src/core/store/store.ts'
import type { Kv } from '../../../src/edge/deno/platform.ts'

declare const Deno: {
  openKv(path?: string): Promise<Kv>
  makeTempDirSync(): string
  test(name: string, fn: () => Promise<void>): void
}

const dir = Deno.makeTempDirSync()
let files = 0
const kvOf = new WeakMap<Store, { path: string; kv: Kv }>()

defineStoreContract('Deno KV (deno test)', {
  async create() {
    const path = `${dir}/contract-${++files}.sqlite3`
    const kv = await Deno.openKv(path)
    const store = await denoKvStore(kv, { prefix: ['contract'] })
    kvOf.set(store, { path, kv })
    return store
  },
  async reopen(store) {
    // A new KV handle on the same file, as a restarted process opens it.
    const { path, kv } = kvOf.get(store)!
    kv.close()
    return denoKvStore(await Deno.openKv(path), { prefix: ['contract'] })
  },
})

// What the engine hands the store in Deno: msgpackr's output is a Node Buffer, whose slice() is a
// view of its whole pool. KV serializes a Buffer, unlike a plain Uint8Array, with all of that.
Deno.test('Deno KV store: Buffer values, large and small, in a batch past one commit', async () => {
  const { Buffer } = await import('node:buffer')
  const kv = await Deno.openKv(`${dir}/buffers.sqlite3`)
  const store = await denoKvStore(kv, { prefix: ['buffers'] })
  const pool = Buffer.alloc(300_000, 7)
  const big = pool.slice(0, 200_000)
  const ops = [
    { type: 'put' as const, space: 'meta' as const, key: 'big', value: big },
    ...Array.from({ length: 1200 }, (_, i) => ({ type: 'put' as const, space: 'values' as const, key: `s${i}`, value: pool.slice(i, i + 50) })),
  ]
  await store.batch(ops)
  const [gotBig] = await store.getMany('meta', ['big'])
  const [gotSmall] = await store.getMany('values', ['s1199'])
  await store.close()
  kv.close()
  if (gotBig?.byteLength !== 200_000 || gotSmall?.byteLength !== 50) throw new Error(`read back ${gotBig?.byteLength} and ${gotSmall?.byteLength} bytes`)
})

// The engine itself over Deno KV, in Deno: what the contract's plain arrays do not exercise.
// msgpackr hands the engine Node Buffers here, views of a shared pool; 10,000 puts in one putMany
// is past one KV commit (the redo log) and past one warm page.
Deno.test('the engine over Deno KV: a putMany of 10,000 in one atomic step, read back after a reopen', async () => {
  const { createMemory } = await import('../../../src/core/api/open-engine.ts')
  const path = `${dir}/engine.sqlite3`
  const open = async (kv: Kv) =>
    createMemory({
      maintenanceIntervalMs: 0,
      policy: { defaultLayer: 'assets' },
      stores: { warm: await denoKvStore(kv, { prefix: ['warm'] }), cold: await denoKvStore(kv, { prefix: ['cold'] }) },
    })
  const items = Array.from({ length: 10_000 }, (_, i) => ({ key: `k${i}`, value: { i, text: `note ${i} `.padEnd(1024, '.') } }))
  let kv = await Deno.openKv(path)
  let memory = await open(kv)
  await memory.putMany(items)
  await memory.close()
  kv.close()
  kv = await Deno.openKv(path)
  memory = await open(kv)
  const values = (await memory.getMany(items.map((item) => item.key))) as Array<{ i: number; text: string } | undefined>
  const wrong = values.filter((value, i) => value?.text !== items[i]!.value.text).length
  await memory.close()
  kv.close()
  if (wrong !== 0) throw new Error(`${wrong} of 10,000 values did not read back`)
})

/**
 * The store contract under `deno test`, in Deno's own process against real Deno KV files:
 * `deno test --unstable-kv --config test/edge/deno/deno.json` (npm run test:deno).
 */
import { defineStoreContract } from '../../contract/store-contract.ts'
import { openDenoKvStore } from '../../../src/edge/deno/index.ts'
import type { Store } from '../../../src/core/store/store.ts'
import type { Kv } from '../../../src/edge/deno/platform.ts'

declare const Deno: {
  openKv(path?: string): Promise<Kv>
  makeTempDirSync(): string
}

const dir = Deno.makeTempDirSync()
let files = 0
const kvOf = new WeakMap<Store, { path: string; kv: Kv }>()

defineStoreContract('Deno KV (deno test)', {
  async create() {
    const path = `${dir}/contract-${++files}.sqlite3`
    const kv = await Deno.openKv(path)
    const store = await openDenoKvStore(kv, { prefix: ['contract'] })
    kvOf.set(store, { path, kv })
    return store
  },
  async reopen(store) {
    // A new KV handle on the same file, as a restarted process opens it.
    const { path, kv } = kvOf.get(store)!
    kv.close()
    return openDenoKvStore(await Deno.openKv(path), { prefix: ['contract'] })
  },
})

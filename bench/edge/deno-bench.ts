/**
 * The Deno side of the edge bench (`deno run --unstable-kv`): putMany of 10,000 entries through
 * tiermem over Deno KV against bare `kv.atomic()` batches of the same data, rounds interleaved,
 * each on a fresh KV file. Prints one JSON line of results.
 */
import { createMemory } from '../../src/core/api/open-engine.ts'
import { denoKvStore } from '../../src/edge/deno/kv-store.ts'
import { compressedStore } from '../../src/stores/compressed-store.ts'
import type { Kv } from '../../src/edge/deno/platform.ts'

declare const Deno: { openKv(path?: string): Promise<Kv>; makeTempDirSync(): string; args: string[] }

const N = Number(Deno.args[0] ?? 10_000)
const BYTES = Number(Deno.args[1] ?? 1024)
const ROUNDS = Number(Deno.args[2] ?? 5)
const dir = Deno.makeTempDirSync()
const items = Array.from({ length: N }, (_, i) => ({ key: `k${i}`, value: { i, text: `note ${i} `.padEnd(BYTES, '.') } }))

async function tiermemRound(round: number): Promise<number> {
  const kv = await Deno.openKv(`${dir}/tiermem-${round}.sqlite3`)
  const memory = await createMemory({
    maintenanceIntervalMs: 0,
    policy: { defaultLayer: 'assets' },
    stores: { warm: await denoKvStore(kv, { prefix: ['warm'] }), cold: compressedStore(await denoKvStore(kv, { prefix: ['cold'] })) },
  })
  const start = performance.now()
  await memory.putMany(items)
  const ms = performance.now() - start
  await memory.close()
  kv.close()
  return ms
}

/** Bare KV: as many sets per atomic commit as its limits allow (1,000 mutations, 800 KiB). */
async function bareRound(round: number): Promise<number> {
  const kv = await Deno.openKv(`${dir}/bare-${round}.sqlite3`)
  const perCommit = Math.max(1, Math.min(1000, Math.floor((760 * 1024) / (BYTES + 64))))
  const start = performance.now()
  for (let at = 0; at < items.length; at += perCommit) {
    const atomic = kv.atomic()
    for (const { key, value } of items.slice(at, at + perCommit)) atomic.set(['bare', key], value)
    await atomic.commit()
  }
  const ms = performance.now() - start
  kv.close()
  return ms
}

const tiermem: number[] = []
const bare: number[] = []
await tiermemRound(-1)
await bareRound(-1)
for (let round = 0; round < ROUNDS; round++) {
  bare.push(await bareRound(round))
  tiermem.push(await tiermemRound(round))
}
console.log(JSON.stringify({ n: N, bytes: BYTES, tiermemMs: tiermem, bareMs: bare }))

import { expect, it } from 'vitest'
import { readStoredRegistry } from '../../src/core/persistence/journal.ts'
import { openIndexedDbStore } from '../../src/stores/indexeddb-store.ts'
import { checkPlacement } from '../contract/placement.ts'
import { openMemory } from '../../src/index.ts'
import { storageNames } from '../../src/hosts/browser-stores.ts'
import { remoteOpfsStore, storeHost } from './store-host.ts'

const plain = { policy: { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' as const } } }, maintenanceIntervalMs: 0 }
// Small segments and blocks so that the workload seals segments and compacts them.
const opfs = { segmentBytes: 2048, blockBytes: 512, compactDeadRatio: 0.3 }
const GONE = '∅'
const spawn = () => new Worker(new URL('../../worker/tiermem.worker.ts', import.meta.url), { type: 'module' })

/** Every key's possible states: settled (one) or, when a call was cut by the crash, either. */
type Possible = Map<string, unknown[]>

it('killing the worker mid-workload loses no acknowledged put, resurrects no delete, and leaves one copy per entry', async () => {
  let cutOps = 0
  let compactedRounds = 0
  let seed = 12345
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
  for (let round = 0; round < 8; round++) {
    const name = `crash-${Date.now()}-${round}`
    const worker = spawn()
    const mem = await openMemory({ name, worker, opfs, ...plain })
    const possible: Possible = new Map()
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`)
    const text = (key: string, v: number) => ({ key, v, text: `${key} version ${v} `.repeat(20) })
    await mem.putMany(keys.map((key, i) => ({ key, value: text(key, 0), tier: (['hot', 'warm', 'cold'] as const)[i % 3] })))
    for (const key of keys) possible.set(key, [text(key, 0)])

    const track = (key: string, next: unknown, op: Promise<unknown>) =>
      op.then(
        () => possible.set(key, [next]),
        () => {
          cutOps++
          possible.set(key, [...possible.get(key)!, next])
        },
      )
    const work: Promise<unknown>[] = []
    for (let step = 0; step < 300; step++) {
      const key = keys[Math.floor(random() * keys.length)]!
      const r = random()
      if (r < 0.35) work.push(mem.demote(key).catch(() => undefined))
      else if (r < 0.6) work.push(mem.promote(key).catch(() => undefined))
      else if (r < 0.85) work.push(track(key, text(key, step + 1), mem.put(key, text(key, step + 1), { tier: r < 0.7 ? 'cold' : 'warm' })))
      else work.push(track(key, GONE, mem.delete(key)))
    }
    // Kill at a random point of the queue (25–75 % of the calls settled), not after a random
    // time: on a loaded machine a time could pass before any compaction ran (seen in CI).
    const killAt = Math.floor((0.25 + random() * 0.5) * work.length)
    let settled = 0
    await new Promise<void>((resolve) => {
      for (const op of work)
        void op.finally(() => {
          if (++settled === killAt) resolve()
        })
    })
    worker.terminate()
    await Promise.all(work)
    await mem.close()

    const reopened = await openMemory({ name, opfs, ...plain })
    for (const key of keys) {
      const got = (await reopened.has(key)) ? await reopened.get(key) : GONE
      expect(possible.get(key), `${key} in round ${round}`).toContainEqual(got)
    }
    await reopened.close()

    // One copy per entry: the metadata names a tier, and only that tier holds the value.
    const names = storageNames(name)
    const warm = await openIndexedDbStore({ database: names.warm })
    const { records } = await readStoredRegistry(warm)
    const warmValues = new Map(await warm.scan('values', { limit: 10_000 }))
    await warm.close()
    const cold = await remoteOpfsStore({ directory: names.coldDirectory })
    const coldValues = new Set((await cold.scan('values', { limit: 10_000 })).map(([k]) => k))
    await cold.close()
    checkPlacement(records, warmValues, coldValues)
    const files = await storeHost().files(names.coldDirectory)
    const highest = Math.max(...files.map((f) => Number(/(\d+)/.exec(f.name)![1])))
    if (highest > files.length) compactedRounds++
  }
  // The test proves something only if kills cut work in flight and compactions ran.
  expect(cutOps, 'ops cut by the kill').toBeGreaterThan(0)
  expect(compactedRounds, 'rounds with a compaction').toBeGreaterThan(0)
  // Eight rounds of real work in OPFS and IndexedDB: 15 s on a quiet machine, over 30 s beside CI's other work.
}, 120_000)

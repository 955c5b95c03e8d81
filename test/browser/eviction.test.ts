import { describe, expect, it } from 'vitest'
import { openMemory, type MemoryEvents } from '../../src/index.ts'

const plain = { policy: { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' as const } } }, maintenanceIntervalMs: 0 }
const unique = (what: string) => `${what}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`

/** What the browser's eviction does to a memory: its IndexedDB database and OPFS directory go; localStorage stays (Chromium). */
async function evict(name: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const request = indexedDB.deleteDatabase(`tiermem:${name}`)
    request.onsuccess = () => resolve()
    request.onerror = () => reject(request.error)
  })
  await (await navigator.storage.getDirectory()).removeEntry(`tiermem-${encodeURIComponent(name)}`, { recursive: true })
}

describe('eviction detected in Chromium, through openMemory', () => {
  it('an evicted memory raises storage-evicted and says so in stats(); a new one and a reopen do not', async () => {
    const name = unique('evicted')
    const first = await openMemory({ name, ...plain })
    expect((await first.stats()).storage).toMatchObject({ fresh: true, evicted: null })
    await first.putMany(Array.from({ length: 25 }, (_, i) => ({ key: `k${i}`, value: i, tier: (['hot', 'warm', 'cold'] as const)[i % 3] })))
    await first.close()

    const reopened = await openMemory({ name, ...plain })
    expect((await reopened.stats()).storage).toMatchObject({ fresh: false, evicted: null })
    await reopened.close()

    await evict(name)
    const after = await openMemory({ name, ...plain })
    const alert = await new Promise<MemoryEvents['alert']>((resolve) => void after.on('alert', resolve))
    expect(alert).toMatchObject({ name: 'storage-evicted', severity: 'critical', detail: { entriesThen: 25 } })
    const { storage } = await after.stats()
    expect(storage.fresh).toBe(true)
    expect(storage.evicted).toMatchObject({ entriesThen: 25 })
    await after.close()

    // witness: false opts out: the same wipe is a new memory as far as tiermem can tell.
    await evict(name)
    const blind = await openMemory({ name, ...plain, witness: false })
    expect((await blind.stats()).storage).toMatchObject({ fresh: true, evicted: null })
    await blind.close()
  })
})

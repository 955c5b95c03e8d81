import { describe, expect, it } from 'vitest'
import { openMemory } from '../../src/index.ts'

const plain = { policy: { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' as const } } }, maintenanceIntervalMs: 0 }
const unique = (what: string) => `${what}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`
const text = (i: number) => `message ${i}: the user asked about flights to Lisbon in May and a hotel near the river. `.repeat(4)

describe('archiving and snapshots in Chromium (OPFS)', () => {
  it('archive() keeps entries in OPFS at level 9, reads them back, reports what it saved, and survives a reload', async () => {
    const name = unique('archive')
    let mem = await openMemory({ name, ...plain })
    await mem.putMany(Array.from({ length: 300 }, (_, i) => ({ key: `m${i}`, value: { role: 'user', text: text(i) }, type: 'message' })))
    const result = await mem.archive({ type: 'message', level: 9 })
    expect(result.archived).toBe(300)
    expect(result.storedBytes).toBeLessThan(result.originalBytes * 0.5)
    expect(await mem.get('m7')).toEqual({ role: 'user', text: text(7) })
    await mem.close()
    mem = await openMemory({ name, ...plain })
    const { archive } = await mem.stats()
    expect(archive.entries).toBe(300)
    expect(archive.savedBytes).toBeGreaterThan(archive.originalBytes * 0.5)
    expect(await mem.restore({ type: 'message' })).toBe(300)
    expect((await mem.getEntry('m0'))?.tier).toBe('warm')
    await mem.close()
  })

  it('backup.auto keeps snapshots in OPFS; one read back through the worker restores elsewhere', async () => {
    const mem = await openMemory({ name: unique('snap'), ...plain, backup: { auto: { intervalMs: 1000, keep: 2 } } })
    await mem.putMany(Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: i })))
    await expect.poll(() => mem.snapshots().then((list) => list.length), { timeout: 10_000 }).toBeGreaterThanOrEqual(1)
    const [snapshot] = await mem.snapshots()
    const other = await openMemory({ name: unique('snap-target'), ...plain })
    await other.restoreBackup(await mem.readSnapshot(snapshot!.id))
    expect(await other.getMany(['k0', 'k49'])).toEqual([0, 49])
    for (const m of [mem, other]) await m.close()
  })
})

import { strFromU8, unzipSync } from 'fflate'
import { describe, expect, it } from 'vitest'
import { createMemory } from '../../src/core/index.ts'
import { memoryRecordFiles } from '../../src/core/store/record-file.ts'
import { memoryStore, memoryStoreData } from '../../src/core/store/memory-store.ts'
import { fakeClock, fakeScheduler, plainLayers } from './helpers.ts'

describe('automatic snapshots (backup.auto)', () => {
  it('takes one per interval when something changed, keeps the newest, and one at close; each restores', async () => {
    const clock = fakeClock()
    const time = fakeScheduler(clock)
    const warm = memoryStoreData()
    const cold = memoryStoreData()
    const records = memoryRecordFiles()
    const open = () =>
      createMemory({
        ...plainLayers,
        maintenanceIntervalMs: 0,
        clock,
        scheduler: time.scheduler,
        backup: { auto: { intervalMs: 60_000, keep: 2 } },
        stores: { warm: memoryStore({ data: warm }), cold: memoryStore({ data: cold }), records },
      })
    const mem = await open()
    /** Moves fake time a minute at a time until the snapshots say `done` (a snapshot is taken in the background). */
    const until = async (done: (list: Awaited<ReturnType<typeof mem.snapshots>>) => boolean) => {
      for (let i = 0; i < 5; i++) {
        await time.advance(60_000)
        for (let wait = 0; wait < 50 && !done(await mem.snapshots()); wait++) await new Promise((resolve) => setTimeout(resolve, 10))
        if (done(await mem.snapshots())) return
      }
      throw new Error(`the snapshots never became what was expected: ${JSON.stringify(await mem.snapshots())}`)
    }
    // An unchanged memory takes none.
    await time.advance(180_000)
    expect(await mem.snapshots()).toEqual([])
    await mem.put('a', 1)
    await until((list) => list.length === 1)
    const [first] = await mem.snapshots()
    // Unchanged: no new snapshot however long.
    await time.advance(300_000)
    expect(await mem.snapshots()).toEqual([first])
    await mem.put('b', 2)
    await until((list) => list.length === 2)
    await mem.put('c', 3)
    await until((list) => !list.some((s) => s.id === first!.id))
    const kept = await mem.snapshots()
    expect(kept).toHaveLength(2)
    await expect(mem.readSnapshot(first!.id)).rejects.toMatchObject({ code: 'NOT_FOUND' })

    // The newest one restores into another memory: a, b and c.
    const target = await createMemory({ ...plainLayers, maintenanceIntervalMs: 0 })
    await target.restoreBackup(await mem.readSnapshot(kept[1]!.id))
    expect(await target.getMany(['a', 'b', 'c'])).toEqual([1, 2, 3])
    await target.close()

    // At close, if anything changed: and the list and files survive a reopen.
    await mem.put('d', 4)
    await mem.close()
    const again = await open()
    const afterClose = await again.snapshots()
    expect(afterClose).toHaveLength(2)
    const restored = await createMemory({ ...plainLayers, maintenanceIntervalMs: 0 })
    await restored.restoreBackup(await again.readSnapshot(afterClose[1]!.id))
    expect(await restored.get('d')).toBe(4)
    await restored.close()
    // Snapshots are not the app's backup chain: the app's first incremental is still a full backup.
    const inc = new Uint8Array(await new Response(await again.backup({ incremental: true })).arrayBuffer())
    expect(JSON.parse(strFromU8(unzipSync(inc)['manifest.json']!)).kind).toBe('full')
    await again.close()
  })

  it('checks its options', async () => {
    for (const auto of [
      { intervalMs: 10, keep: 1 },
      { intervalMs: 60_000, keep: 0 },
      { intervalMs: 60_000, keep: 1, every: 2 },
    ]) {
      await expect(createMemory({ backup: { auto: auto as never } })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    }
  })
})

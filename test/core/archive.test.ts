import { describe, expect, it } from 'vitest'
import { createMemory, type Memory } from '../../src/core/index.ts'
import { memoryStore, memoryStoreData } from '../../src/core/store/memory-store.ts'
import { compressedStore } from '../../src/stores/compressed-store.ts'
import { DAY, fakeClock, type FakeClock } from './helpers.ts'

const text = (i: number) =>
  `User ${i % 7} asked about the trip to Lisbon: flights on the ${i % 28} of May, a hotel near the river, ` +
  `and whether the museum opens on Mondays. The assistant answered with three options and prices. `.repeat(3)

/** A memory whose cold store compresses (as OPFS and the IndexedDB fallback do), on a fake clock. */
const levels: Array<number | undefined> = []

async function openCompressing(clock: FakeClock, policy: Record<string, unknown> = {}): Promise<Memory> {
  const cold = compressedStore(memoryStore({ data: memoryStoreData() }), { level: 1 })
  const batch = cold.batch.bind(cold)
  // Records the level each cold batch was asked for.
  cold.batch = (ops, options) => (levels.push(options?.level), batch(ops, options))
  return createMemory({
    maintenanceIntervalMs: 0,
    clock,
    policy: { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' } }, ...policy },
    stores: { warm: memoryStore({ data: memoryStoreData() }), cold },
  })
}

describe('archive rules (seed 002)', () => {
  it('applies the rules highest priority first: each entry at the level of the first rule it meets', async () => {
    const clock = fakeClock()
    const mem = await openCompressing(clock)
    // Meets old-unimportant (9, priority 8) and unaccessed (7, priority 7): 9 wins.
    await mem.put('old-unimportant', text(1), { importance: 0.1 })
    // Meets unaccessed only (important, so not old-unimportant).
    await mem.put('unaccessed', text(2), { importance: 0.9 })
    // Large and rarely read, but read often enough not to count as unaccessed.
    await mem.put('large', 'x'.repeat(20_000) + text(3), { importance: 0.9 })
    await mem.put('busy', text(4), { importance: 0.9 })
    clock.advance(25 * DAY)
    for (let i = 0; i < 3; i++) await mem.get('large')
    clock.advance(70 * DAY)
    for (let i = 0; i < 50; i++) await mem.get('busy')

    const result = await mem.archive()
    expect(result.archived).toBe(3)
    expect((await mem.getEntry('old-unimportant'))?.archived).toBe(9)
    expect((await mem.getEntry('unaccessed'))?.archived).toBe(7)
    expect((await mem.getEntry('large'))?.archived).toBe(8)
    expect((await mem.getEntry('busy'))?.archived).toBeUndefined()
    for (const key of ['old-unimportant', 'unaccessed', 'large']) expect((await mem.getEntry(key))?.tier).toBe('cold')
    // Still read by get, exactly.
    expect(await mem.get('old-unimportant')).toBe(text(1))
    const { archive } = await mem.stats()
    expect(archive.entries).toBe(3)
    expect(archive.storedBytes).toBeLessThan(archive.originalBytes)
    expect(archive.savedBytes).toBe(archive.originalBytes - archive.storedBytes)
    expect(archive.ratio).toBeCloseTo(archive.storedBytes / archive.originalBytes)
    await mem.close()
  })

  it('archives by a filter at its level, compressing harder than the cold store does, and restore() brings entries back to warm', async () => {
    const clock = fakeClock()
    const mem = await openCompressing(clock, { archiveRules: [] })
    await mem.putMany(Array.from({ length: 200 }, (_, i) => ({ key: `m${i}`, value: { role: 'user', text: text(i) }, type: 'message' })))
    await mem.put('fact', 'keep me hot', { type: 'fact' })
    levels.length = 0
    const result = await mem.archive({ type: 'message', level: 9 })
    expect(result).toMatchObject({ archived: 200 })
    // The cold store was asked for level 9 for them (and only them).
    expect(levels).toEqual([9])
    // Each value is deflated on its own in this store (OPFS compresses 64 KiB blocks: the bench measures that).
    expect(1 - result.storedBytes / result.originalBytes).toBeGreaterThan(0.5)
    expect((await mem.getEntry('fact'))?.archived).toBeUndefined()
    expect(await mem.restore('m0')).toBe(1)
    expect(await mem.getEntry('m0')).toMatchObject({ tier: 'warm' })
    expect((await mem.getEntry('m0'))?.archived).toBeUndefined()
    expect(await mem.restore('m0')).toBe(0)
    expect(await mem.restore({ type: 'message' })).toBe(199)
    expect((await mem.stats()).archive).toMatchObject({ entries: 0, originalBytes: 0 })
    await expect(mem.restore('missing')).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(mem.archive({ level: 12 })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(mem.archive({ tpye: 'message' } as never)).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await mem.close()
  })

  it('an archived entry stays archived across a reopen, and a put or a promotion out of cold ends it', async () => {
    const clock = fakeClock()
    const warm = memoryStoreData()
    const cold = memoryStoreData()
    const open = () =>
      createMemory({
        maintenanceIntervalMs: 0,
        clock,
        policy: { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' } }, archiveRules: [] },
        stores: { warm: memoryStore({ data: warm }), cold: memoryStore({ data: cold }) },
      })
    let mem = await open()
    await mem.put('a', text(1))
    await mem.put('b', text(2))
    await mem.archive({ level: 8 })
    await mem.close()
    mem = await open()
    expect((await mem.getEntry('a'))?.archived).toBe(8)
    expect((await mem.stats()).archive.entries).toBe(2)
    await mem.put('a', 'new value')
    expect((await mem.getEntry('a'))?.archived).toBeUndefined()
    for (let i = 0; i < 12; i++) await mem.get('b')
    await mem.flush()
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect((await mem.getEntry('b'))?.tier).not.toBe('cold')
    expect((await mem.stats()).archive.entries).toBe(0)
    await mem.close()
  })

  it('rules are checked: a rule with no condition, an unknown condition, a bad level', async () => {
    const clock = fakeClock()
    const rule = { name: 'r', policy: 'time', when: { olderThanMs: 1 }, level: 5, priority: 1 }
    await expect(openCompressing(clock, { archiveRules: [{ ...rule, when: {} }] })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(openCompressing(clock, { archiveRules: [{ ...rule, when: { olderThen: 1 } }] })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(openCompressing(clock, { archiveRules: [{ ...rule, level: 0 }] })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(openCompressing(clock, { archiveRules: [rule, rule] })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    const mem = await openCompressing(clock, { archiveRules: [rule] })
    await mem.close()
  })

  it('maintenance applies the rules by itself', async () => {
    const clock = fakeClock()
    const mem = await createMemory({
      maintenanceIntervalMs: 5,
      clock,
      policy: { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' } } },
    })
    await mem.put('old', text(1), { importance: 0.1 })
    clock.advance(91 * DAY)
    await expect.poll(async () => (await mem.getEntry('old'))?.archived, { timeout: 2000 }).toBe(9)
    await mem.close()
  })
})

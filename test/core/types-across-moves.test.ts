import { describe, expect, it } from 'vitest'
import { createMemory } from '../../src/core/index.ts'
import { InternTable } from '../../src/core/registry/intern-table.ts'

describe("an entry's type", () => {
  it('survives tier moves when it is the only entry of its type, and a new type never takes its id', async () => {
    const mem = await createMemory({ maintenanceIntervalMs: 0 })
    await mem.put('solo', { text: 'x' }, { type: 'solo', tags: ['t'] })
    expect(await mem.demote('solo')).toBe('warm')
    expect(await mem.demote('solo')).toBe('cold')
    expect(await mem.promote('solo')).toBe('warm')
    expect((await mem.getEntry('solo'))!.type).toBe('solo')
    await mem.put('other', 1, { type: 'other' })
    expect((await mem.query({ type: 'solo' })).map((e) => e.key)).toEqual(['solo'])
    expect((await mem.query({ type: 'other' })).map((e) => e.key)).toEqual(['other'])
    await mem.close()
  })

  it('survives a put that lands in warm because hot is full', async () => {
    const mem = await createMemory({ maintenanceIntervalMs: 0, hot: { maxBytes: 16 * 1024 } })
    await mem.put('big', 'x'.repeat(15_000))
    const info = await mem.put('msg', { text: 'x' }, { type: 'message' })
    expect((await mem.getEntry('msg'))!.type).toBe('message')
    expect((await mem.getEntry('big'))!.type).toBe('context')
    expect((await mem.query({ type: 'message' })).map((e) => e.key)).toEqual(['msg'])
    expect(info.type).toBe('message')
    await mem.close()
  })

  it('reuses the id of a name no entry uses once the table is full, and only then', () => {
    const table = new InternTable(2, 'entry types', true)
    const a = table.id('a')
    table.acquire(a)
    const b = table.id('b')
    table.acquire(b)
    expect(() => table.id('c')).toThrow(/more than 2 distinct entry types/)
    // b's only entry moves: released and acquired again, its name kept.
    table.release(b)
    table.acquire(b)
    expect(table.name(b)).toBe('b')
    table.release(b)
    expect(table.size).toBe(1)
    expect(table.name(b)).toBe('b')
    const c = table.id('c')
    expect(c).toBe(b)
    expect(table.lookup('b')).toBeUndefined()
    expect(table.name(a)).toBe('a')
  })
})

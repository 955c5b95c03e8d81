import { describe, expect, it } from 'vitest'
import { createMemory } from '../../src/core/index.ts'

describe('smoke', () => {
  it('puts and gets', async () => {
    const mem = await createMemory({ maintenanceIntervalMs: 0 })
    const info = await mem.put('a', { text: 'hi' })
    expect(info.tier).toBe('hot')
    expect(await mem.get('a')).toEqual({ text: 'hi' })
    await mem.demote('a')
    expect(await mem.get('a')).toEqual({ text: 'hi' })
    await mem.demote('a')
    expect((await mem.getEntry('a'))?.tier).toBe('cold')
    expect(await mem.get('a')).toEqual({ text: 'hi' })
    await mem.close()
  })
})

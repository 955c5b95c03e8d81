import { describe, expect, it } from 'vitest'
import { open, plainLayers } from './helpers.ts'

describe('peek', () => {
  it('reads the value from every tier without counting an access or promoting', async () => {
    const h = await open({ ...plainLayers, policy: { ...plainLayers.policy, promoteAfterAccesses: 2 } })
    for (const tier of ['hot', 'warm', 'cold'] as const) await h.mem.put(tier, { tier }, { tier })
    const before = await Promise.all(['hot', 'warm', 'cold'].map((k) => h.mem.getEntry(k)))
    h.clock.advance(5000)
    for (let i = 0; i < 5; i++) expect(await h.mem.peek('cold')).toEqual({ tier: 'cold' })
    expect(await h.mem.peek('warm')).toEqual({ tier: 'warm' })
    expect(await h.mem.peek('hot')).toEqual({ tier: 'hot' })
    expect(await h.mem.peek('missing')).toBeUndefined()
    const after = await Promise.all(['hot', 'warm', 'cold'].map((k) => h.mem.getEntry(k)))
    expect(after).toEqual(before)
    expect(h.events.promoted).toEqual([])
    await h.mem.close()
  })
})

describe('clear', () => {
  it('deletes every entry of a namespace in batches with progress, and nothing else', async () => {
    const h = await open(plainLayers)
    await h.mem.putMany(Array.from({ length: 2500 }, (_, i) => ({ key: `k${i}`, value: i, namespace: 'a', tier: (['hot', 'warm', 'cold'] as const)[i % 3] })))
    await h.mem.put('keep', 'me', { namespace: 'b' })
    const progress: Array<[number, number]> = []
    expect(await h.mem.clear({ namespace: 'a', onProgress: (done, total) => progress.push([done, total]) })).toBe(2500)
    expect(progress).toEqual([
      [1000, 2500],
      [2000, 2500],
      [2500, 2500],
    ])
    expect(await h.mem.query({ namespace: 'a' })).toEqual([])
    expect(await h.mem.get('keep', { namespace: 'b' })).toBe('me')
    // Nothing of the cleared namespace comes back after a reopen.
    const mem = await h.reopen()
    expect(await mem.query({})).toHaveLength(1)
    expect(h.cold.spaces.values.size).toBe(0)
    expect(await mem.clear()).toBe(1)
    const none: Array<[number, number]> = []
    expect(await mem.clear({ onProgress: (done, total) => none.push([done, total]) })).toBe(0)
    expect(none).toEqual([[0, 0]])
    await mem.close()
  })

  it('a read issued after clear() sees it cleared; a misspelt option clears nothing', async () => {
    const { mem } = await open(plainLayers)
    await mem.put('x', 1)
    await expect(mem.clear({ namespce: 'other' } as never)).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    expect(await mem.get('x')).toBe(1)
    const [, seen] = await Promise.all([mem.clear(), mem.get('x')])
    expect(seen).toBeUndefined()
    await mem.close()
  })
})

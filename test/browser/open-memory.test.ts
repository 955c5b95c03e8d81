import { describe, expect, it } from 'vitest'
import { openMemory, TiermemError } from '../../src/index.ts'

const plain = { policy: { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' as const } } }, maintenanceIntervalMs: 0 }
const unique = (what: string) => `${what}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`

describe('openMemory() in Chromium: worker, IndexedDB and OPFS', () => {
  it('stores in every tier, with OPFS as cold, and reads back', async () => {
    const mem = await openMemory({ name: unique('tiers'), ...plain })
    expect(mem.coldBackend).toBe('opfs')
    const value = { role: 'user', text: 'remember the Lisbon trip', at: new Date(5) }
    await mem.put('hot', value)
    await mem.put('warm', value, { tier: 'warm' })
    await mem.put('cold', value, { tier: 'cold' })
    expect(await mem.getMany(['hot', 'warm', 'cold'])).toEqual([value, value, value])
    const stats = await mem.stats()
    expect(stats.tiers).toMatchObject({ hot: { count: 1 }, warm: { count: 1 }, cold: { count: 1 } })
    expect(stats.cold.backend).toBe('opfs')
    await mem.close()
  })

  it('keeps everything across close and a new worker (what a reload does)', async () => {
    const name = unique('reload')
    const first = await openMemory({ name, ...plain })
    await first.putMany(
      Array.from({ length: 200 }, (_, i) => ({ key: `m${i}`, value: { i, text: `message ${i}` }, tier: (['hot', 'warm', 'cold'] as const)[i % 3] })),
    )
    await first.close()
    const second = await openMemory({ name, ...plain })
    const values = await second.getMany(Array.from({ length: 200 }, (_, i) => `m${i}`))
    expect(values).toEqual(Array.from({ length: 200 }, (_, i) => ({ i, text: `message ${i}` })))
    expect((await second.getEntry('m2'))?.tier).toBe('cold')
    await second.close()
  })

  it('a move to OPFS that gives way to back-to-back reads: every read right, the move ends, every entry cold after a reload', async () => {
    const name = unique('give-way')
    const mem = await openMemory({ name, ...plain })
    const count = 2000
    const value = (i: number) => ({ i, text: `message ${i} `.repeat(40) })
    await mem.putMany(Array.from({ length: count }, (_, i) => ({ key: `m${i}`, value: value(i), tier: 'warm' as const })))
    await mem.put('hot', { hot: true })
    await mem.configure({ policy: { warmIdleMs: 0 } })
    let moving = true
    const gc = mem.gc().finally(() => (moving = false))
    let reads = 0
    const wrong: number[] = []
    while (moving) {
      const i = (reads * 7) % count
      const [hot, moved] = await mem.getMany(['hot', `m${i}`])
      if (!(hot as { hot?: boolean }).hot || (moved as { i: number }).i !== i) wrong.push(i)
      reads++
    }
    expect((await gc).demoted).toBe(count)
    expect(wrong).toEqual([])
    expect(reads).toBeGreaterThan(10)
    await mem.close()
    const again = await openMemory({ name, ...plain })
    expect((await again.stats()).tiers.cold.count).toBe(count)
    expect(await again.get('m1999')).toEqual(value(1999))
    await again.close()
  })

  it('delivers engine events to the page', async () => {
    const mem = await openMemory({ name: unique('events'), ...plain })
    const demoted = new Promise((resolve) => void mem.on('demoted', resolve))
    await mem.put('k', 'v')
    await mem.demote('k')
    expect(await demoted).toEqual({ key: 'k', namespace: 'default', from: 'hot', to: 'warm' })
    await mem.close()
  })

  it('rejects pending and later calls with WORKER_LOST when the worker dies, never hangs', async () => {
    const worker = new Worker(new URL('../../worker/tiermem.worker.ts', import.meta.url), { type: 'module' })
    const mem = await openMemory({ name: unique('lost'), worker, ...plain })
    await mem.put('before', 1)
    const pending = Array.from({ length: 50 }, (_, i) =>
      mem.put(`k${i}`, 'x'.repeat(1000)).then(
        () => 'ok',
        (e: unknown) => e,
      ),
    )
    worker.terminate()
    const outcomes = await Promise.all(pending)
    const lost = outcomes.filter((o) => o !== 'ok')
    expect(lost.length).toBeGreaterThan(0)
    for (const error of lost) expect(error).toMatchObject({ code: 'WORKER_LOST' })
    await expect(mem.get('before')).rejects.toBeInstanceOf(TiermemError)
    await mem.close()
  })

  it('without tab sharing, a second memory of the same name while the first is open fails clearly', async () => {
    const name = unique('twice')
    const first = await openMemory({ name, ...plain, tabs: false })
    await expect(openMemory({ name, ...plain, tabs: false })).rejects.toMatchObject({
      code: 'LOCKED',
      message: expect.stringMatching(/another tab or worker has this memory open/),
    })
    await first.close()
  })

  it('with tab sharing (the default), a second open of the same name follows the first and sees its writes; it leads once the first closes', async () => {
    const name = unique('shared')
    const first = await openMemory({ name, ...plain })
    const second = await openMemory({ name, ...plain })
    expect([first.role, second.role]).toEqual(['leader', 'follower'])
    await first.put('a', { from: 'first' })
    await second.put('b', { from: 'second' })
    expect(await second.getMany(['a', 'b'])).toEqual([{ from: 'first' }, { from: 'second' }])
    expect(await first.get('b')).toEqual({ from: 'second' })
    await first.close()
    // The lock passes to the follower, which opens the stores itself: the data is all there.
    await expect.poll(() => second.role, { timeout: 10_000 }).toBe('leader')
    expect(await second.getMany(['a', 'b'])).toEqual([{ from: 'first' }, { from: 'second' }])
    await second.close()
  })

  it('a call that is not safe to repeat, in flight when the leader goes, rejects with LEADER_CHANGED; safe ones are sent again', async () => {
    const name = unique('handover')
    const first = await openMemory({ name, ...plain })
    const second = await openMemory({ name, ...plain })
    await first.put('held', 1)
    const retain = second.retain('held')
    const read = second.get('held')
    void first.close()
    const [retained, value] = await Promise.allSettled([retain, read])
    // retain() adds to a count: it either ran before the leader went or is reported, never doubled.
    if (retained.status === 'rejected') expect(retained.reason).toMatchObject({ code: 'LEADER_CHANGED' })
    expect(value).toEqual({ status: 'fulfilled', value: 1 })
    const refCount = (await second.getEntry('held'))?.refCount
    if (retained.status === 'fulfilled') expect(refCount).toBe(1)
    else expect([0, 1]).toContain(refCount)
    await second.close()
  })

  it('rejects with WORKER_LOST naming the URL when the worker script is missing (a 404), never hangs', async () => {
    const workerUrl = '/no-such-dir/tiermem.worker.js'
    const outcome = await openMemory({ name: unique('missing'), workerUrl, ...plain }).catch((error: unknown) => error)
    expect(outcome).toBeInstanceOf(TiermemError)
    expect(outcome).toMatchObject({ code: 'WORKER_LOST', message: expect.stringContaining(new URL(workerUrl, location.href).href) })
  })

  it('rejects with WORKER_LOST, with the script error, when the worker script throws as it loads', async () => {
    const script = URL.createObjectURL(new Blob(["throw new Error('broken build')"], { type: 'text/javascript' }))
    const outcome = await openMemory({ name: unique('throws'), workerUrl: script, ...plain }).catch((error: unknown) => error)
    URL.revokeObjectURL(script)
    expect(outcome).toMatchObject({ code: 'WORKER_LOST', message: expect.stringMatching(/broken build/) })
  })

  it('starts the worker from workerUrl', async () => {
    const workerUrl = new URL('../../worker/tiermem.worker.ts', import.meta.url)
    const mem = await openMemory({ name: unique('url'), workerUrl, ...plain })
    await mem.put('k', 'v', { tier: 'cold' })
    expect(await mem.get('k')).toBe('v')
    await mem.close()
  })
})

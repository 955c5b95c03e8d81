import { describe, expect, it } from 'vitest'
import { open, plainLayers } from './helpers.ts'

describe('task scopes (seed 000)', () => {
  it('stores entries as taskId:key, tagged with the task and held by the scope', async () => {
    const { mem } = await open(plainLayers)
    const scope = await mem.openScope('task-1')
    const info = await scope.put('context', { goal: 'answer' })
    expect(info).toMatchObject({ key: 'task-1:context', taskId: 'task-1', refCount: 1 })
    expect(await scope.get('context')).toEqual({ goal: 'answer' })
    expect(await mem.get('task-1:context')).toEqual({ goal: 'answer' })
    await expect(mem.evict('task-1:context')).rejects.toMatchObject({ code: 'REF_HELD' })
    await scope.close()
    await mem.close()
  })

  it('closing releases the rest and keeps evidence in cold (keepEvidence default true)', async () => {
    const { mem, events } = await open(plainLayers)
    const scope = await mem.openScope('t')
    await scope.put('ctx', 'working context')
    await scope.put('result', 'intermediate')
    await scope.put('proof', 'a citation', { type: 'evidence' })
    await scope.close()
    expect(await mem.has('t:ctx')).toBe(false)
    expect(await mem.has('t:result')).toBe(false)
    const proof = await mem.getEntry('t:proof')
    expect(proof).toMatchObject({ tier: 'cold', refCount: 0 })
    expect(await mem.get('t:proof')).toBe('a citation')
    expect(events.evicted.map((e) => [e.key, e.reason]).sort()).toEqual([
      ['t:ctx', 'scope'],
      ['t:result', 'scope'],
    ])
    // Kept evidence is not an orphan: gc leaves it.
    expect((await mem.gc()).orphaned).toBe(0)
    await mem.close()
  })

  it('keepEvidence: false releases evidence too', async () => {
    const { mem } = await open(plainLayers)
    const scope = await mem.openScope('t')
    await scope.put('proof', 'x', { type: 'evidence' })
    await scope.close({ keepEvidence: false })
    expect(await mem.has('t:proof')).toBe(false)
    await mem.close()
  })

  it('an entry someone else retained survives the scope and becomes an orphan on release', async () => {
    const { mem } = await open(plainLayers)
    const scope = await mem.openScope('t')
    await scope.put('shared', 'x')
    expect(await mem.retain('t:shared')).toBe(2)
    await scope.close()
    expect(await mem.getEntry('t:shared')).toMatchObject({ refCount: 1 })
    await mem.release('t:shared')
    expect((await mem.gc()).orphaned).toBe(1)
    await mem.close()
  })

  it('holds a key once however many times the scope puts it, even in one batch', async () => {
    const { mem } = await open(plainLayers)
    const scope = await mem.openScope('t')
    await Promise.all([scope.put('k', 1), scope.put('k', 2), scope.put('k', 3)])
    expect(await mem.getEntry('t:k')).toMatchObject({ refCount: 1 })
    await scope.put('k', 4)
    expect(await mem.getEntry('t:k')).toMatchObject({ refCount: 1 })
    await scope.close()
    expect(await mem.has('t:k')).toBe(false)
    await mem.close()
  })

  it('a close that fails part-way can be retried, and releases each reference exactly once', async () => {
    const { createMemory } = await import('../../src/core/index.ts')
    const { memoryStore } = await import('../../src/core/store/memory-store.ts')
    const inner = memoryStore()
    let failNext = false
    const warm = {
      ...inner,
      capabilities: { ...inner.capabilities, maxBatchSize: 2 },
      batch(ops: Parameters<typeof inner.batch>[0]) {
        if (failNext) {
          failNext = false
          return Promise.reject(new Error('disk hiccup'))
        }
        return inner.batch(ops)
      },
    }
    const mem = await createMemory({ ...plainLayers, maintenanceIntervalMs: 0, stores: { warm } })
    const scope = await mem.openScope('t')
    await scope.put('shared', 1)
    await mem.retain('t:shared') // held by the scope and by someone else
    await scope.put('proof', 2, { type: 'evidence' })
    for (const key of ['a', 'b', 'c']) await scope.put(key, key)
    // With 2 ops per batch, close() spans several batches: let the second one fail.
    let calls = 0
    const batch = warm.batch.bind(warm)
    warm.batch = (ops) => (++calls === 2 && (failNext = true), batch(ops))
    await expect(scope.close()).rejects.toThrow('disk hiccup')
    warm.batch = batch
    await scope.close()
    expect(await mem.getEntry('t:shared')).toMatchObject({ refCount: 1 })
    expect(await mem.getEntry('t:proof')).toMatchObject({ refCount: 0 })
    for (const key of ['a', 'b', 'c']) expect(await mem.has(`t:${key}`)).toBe(false)
    await mem.close()
  })

  it('works with await using', async () => {
    const { mem } = await open(plainLayers)
    {
      await using scope = await mem.openScope('disposable')
      await scope.put('tmp', 1)
      expect(await mem.has('disposable:tmp')).toBe(true)
    }
    expect(await mem.has('disposable:tmp')).toBe(false)
    await mem.close()
  })

  it('rejects puts over the task quota and after close, changing nothing', async () => {
    const { mem } = await open(plainLayers)
    const scope = await mem.openScope('q', { quotaBytes: 50 })
    await scope.put('a', 'x'.repeat(30))
    await expect(scope.put('b', 'y'.repeat(30))).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' })
    expect(await mem.has('q:b')).toBe(false)
    await scope.put('a', 'x'.repeat(45)) // replacing counts the old size as freed
    await scope.close()
    await expect(scope.put('c', 1)).rejects.toMatchObject({ code: 'CLOSED' })
    await expect(mem.openScope('q')).resolves.toMatchObject({ taskId: 'q' })
    await expect(mem.openScope('q')).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await mem.close()
  })
})

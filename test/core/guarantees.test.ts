import { describe, expect, it } from 'vitest'
import { TiermemError } from '../../src/core/index.ts'
import { open, plainLayers } from './helpers.ts'

/** One minimal case per way a user lost or changed data (issue #11), each failing before its fix. */

const code = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (e: unknown) => (e instanceof TiermemError ? e.code : `raw ${String(e)}`),
  )

describe('calls issued together take effect in issue order', () => {
  it('a put after a delete is not folded into the put before the delete', async () => {
    const { mem } = await open(plainLayers)
    await Promise.all([mem.put('k', 1), mem.delete('k'), mem.put('k', 2)])
    expect(await mem.get('k')).toBe(2)
    await mem.close()
  })

  it('a read sees the writes issued before it and none after', async () => {
    const { mem } = await open(plainLayers)
    const [, seen, , entry, has, listed] = await Promise.all([mem.put('k', 1), mem.get('k'), mem.delete('k'), mem.getEntry('k'), mem.has('k'), mem.query({})])
    expect(seen).toBe(1)
    expect(entry).toBeUndefined()
    expect(has).toBe(false)
    expect(listed).toEqual([])
    const [many] = await Promise.all([mem.getMany(['a', 'b']), mem.put('a', 'A'), mem.put('b', 'B')])
    expect(many).toEqual([undefined, undefined])
    expect(await mem.getMany(['a', 'b'])).toEqual(['A', 'B'])
    await mem.close()
  })

  it('a warm read in flight still answers the value it was issued against when an overwrite lands', async () => {
    const { mem } = await open(plainLayers)
    await mem.put('w', 'old', { tier: 'warm' })
    const [old] = await Promise.all([mem.get('w'), mem.put('w', 'new', { tier: 'warm' })])
    expect(old).toBe('old')
    expect(await mem.get('w')).toBe('new')
    await mem.close()
  })
})

describe('putMany is all or nothing', () => {
  it('an item over a layer budget refuses the whole call, overwrites included', async () => {
    const { mem } = await open({ policy: { layers: { assets: { maxBytes: 100 } } } })
    await mem.put('small', 'before', { layer: 'assets' })
    const refused = mem.putMany([
      { key: 'small', value: 'after', layer: 'assets' },
      { key: 'big', value: 'x'.repeat(500), layer: 'assets' },
    ])
    expect(await code(refused)).toBe('QUOTA_EXCEEDED')
    expect(await mem.get('small')).toBe('before')
    expect(await mem.has('big')).toBe(false)
    await mem.close()
  })

  it('puts issued beside a refused putMany are judged without it', async () => {
    const { mem } = await open({ policy: { layers: { assets: { maxBytes: 100 } } } })
    const [many, single] = await Promise.allSettled([
      mem.putMany([
        { key: 'a', value: 'x'.repeat(60), layer: 'assets' },
        { key: 'b', value: 'x'.repeat(60), layer: 'assets' },
      ]),
      mem.put('c', 'x'.repeat(60), { layer: 'assets' }),
    ])
    expect(many.status).toBe('rejected')
    expect(single.status).toBe('fulfilled')
    expect(await mem.getMany(['a', 'b', 'c'])).toEqual([undefined, undefined, 'x'.repeat(60)])
    await mem.close()
  })
})

describe('values and names read back the same from every tier, or are refused', () => {
  it('stores a cyclic value and reads it back from hot, warm and cold', async () => {
    const { mem } = await open(plainLayers)
    const value: { name: string; self?: unknown } = { name: 'loop' }
    value.self = value
    for (const tier of ['hot', 'warm', 'cold'] as const) {
      await mem.put(tier, value, { tier })
      const back = (await mem.get(tier)) as typeof value
      expect(back.self).toBe(back)
      const [many] = (await mem.getMany([tier])) as [typeof value]
      expect(many.self).toBe(many)
    }
    await mem.close()
  })

  it('an array keeps its items and not named properties set on it, the same from every tier (documented)', async () => {
    const { mem } = await open(plainLayers)
    const match = 'tiermem 42'.match(/(\d+)/)!
    expect(match.index).toBe(8)
    for (const tier of ['hot', 'warm', 'cold'] as const) {
      await mem.put(tier, { match }, { tier })
      const back = (await mem.get(tier)) as { match: string[] & { index?: number } }
      expect([...back.match]).toEqual(['42', '42'])
      expect(back.match.index).toBeUndefined()
    }
    await mem.close()
  })

  it('keeps -0 in every tier', async () => {
    const { mem } = await open(plainLayers)
    for (const tier of ['hot', 'warm', 'cold'] as const) {
      await mem.put(`n-${tier}`, -0, { tier })
      await mem.put(`o-${tier}`, { v: -0, list: [0, -0] }, { tier })
      expect(Object.is(await mem.get(`n-${tier}`), -0)).toBe(true)
      const o = (await mem.get(`o-${tier}`)) as { v: number; list: number[] }
      expect(Object.is(o.v, -0) && Object.is(o.list[0], 0) && Object.is(o.list[1], -0)).toBe(true)
    }
    await mem.close()
  })

  it('refuses at put what no tier keeps as is, and stores nothing', async () => {
    const { mem } = await open(plainLayers)
    const refused = [
      'a\uD800b',
      { text: 'x\uDC00' },
      { ['k\uD800']: 1 },
      JSON.parse('{"__proto__": 5, "x": 1}'),
      new WeakMap(),
      Promise.resolve(1),
      new Number(3),
      { boxed: new String('s') },
      [1, , 3],
      new WeakSet(),
    ]
    for (const value of refused) expect(await code(mem.put('v', value))).toBe('INVALID_VALUE')
    expect(await mem.has('v')).toBe(false)
    await mem.close()
  })

  it('takes a put’s value and options as they are when it is called: a caller may reuse them at once', async () => {
    const { mem } = await open(plainLayers)
    const value = { n: 1 }
    const options = { tags: ['a'], importance: 0.5, tier: 'warm' as const, vector: Float32Array.from([1, 0]) }
    const puts = [mem.put('k', value, options), mem.putMany([{ key: 'm', value, ...options }])]
    // Changed before the puts commit, to what put() would have refused (importance 5) among others.
    value.n = 2
    options.tags.push('b')
    options.importance = 5
    options.vector.set([0, 1])
    await Promise.all(puts)
    for (const key of ['k', 'm']) {
      expect(await mem.get(key)).toEqual({ n: 1 })
      expect(await mem.getEntry(key)).toMatchObject({ tags: ['a'], importance: 0.5, tier: 'warm' })
    }
    const hits = await mem.recall(Float32Array.from([1, 0]), { k: 2 })
    expect(hits.map((h) => Math.round(h.score * 1e6) / 1e6)).toEqual([1, 1])
    await mem.close()
  })

  it('calls that wait their turn take their arguments as they were when called', async () => {
    const { mem } = await open(plainLayers)
    await mem.putMany([
      { key: 'a', value: 'A' },
      { key: 'b', value: 'B' },
      { key: 'x', value: 'X', namespace: 'n1', tier: 'warm' },
    ])
    // A write pending: each call below waits for it, and the caller changes its arguments meanwhile.
    void mem.put('c', 'C')
    const keys = ['a', 'b']
    const many = mem.getMany(keys)
    keys[0] = 'c'
    const filter: { namespace?: string; limit?: number } = { namespace: 'n1' }
    const queried = mem.query(filter)
    const archiveFilter = { namespace: 'n1' }
    const archived = mem.archive(archiveFilter)
    const options = { hot: { maxBytes: 1_000_000 } }
    const configured = mem.configure(options)
    filter.namespace = 'default'
    archiveFilter.namespace = 'default'
    options.hot.maxBytes = 2
    expect(await many).toEqual(['A', 'B'])
    expect((await queried).map((e) => e.key)).toEqual(['x'])
    expect(await archived).toMatchObject({ archived: 1 })
    await configured
    expect((await mem.getEntry('a'))!.tier).toBe('hot')
    const hot = (await mem.checkPressure()).signals.find((signal) => signal.source === 'budget:hot')
    expect(hot?.limit).toBe(1_000_000)
    void mem.put('d', 'D')
    const restoreFilter = { namespace: 'n1' }
    const restored = mem.restore(restoreFilter)
    restoreFilter.namespace = 'default'
    expect(await restored).toBe(1)
    await mem.close()
  })

  it('refuses keys and names with a lone surrogate instead of storing another key', async () => {
    const h = await open(plainLayers)
    expect(await code(h.mem.put('a\uD800', 1))).toBe('INVALID_KEY')
    expect(await code(h.mem.get('a\uD800'))).toBe('INVALID_KEY')
    for (const options of [{ namespace: 'n\uDC00' }, { type: 't\uD800' }, { tags: ['x\uD800'] }, { taskId: 'j\uDBFF' }]) {
      expect(await code(h.mem.put('k', 1, options))).toBe('INVALID_OPTION')
    }
    expect(await code(h.mem.openScope('job\uD800'))).toBe('INVALID_OPTION')
    // Well-formed astral characters are kept exactly, across a reopen.
    await h.mem.put('key 😀', 'v', { namespace: 'ns 😀', type: 'type 😀', tags: ['tag 😀'] })
    await h.reopen()
    expect(await h.mem.get('key 😀', { namespace: 'ns 😀' })).toBe('v')
    expect(await h.mem.query({ type: 'type 😀', tag: 'tag 😀' })).toHaveLength(1)
    await h.mem.close()
  })
})

describe('limits are errors checked before anything is written', () => {
  it('the 65,536th distinct type in use is refused whole; freed types make room', { timeout: 30_000 }, async () => {
    const { mem } = await open({ ...plainLayers, hot: { maxBytes: 2 ** 30 } })
    const batch = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ key: `k${from + i}`, value: 0, type: `t${from + i}` }))
    // 'context' is not in use yet: 65,535 distinct types fill the table.
    for (let from = 0; from < 65_535; from += 5_000) await mem.putMany(batch(from, Math.min(5_000, 65_535 - from)))
    const error = await mem
      .putMany([
        { key: 'x1', value: 1, type: 'tx' },
        { key: 'x2', value: 1, type: 't0' },
      ])
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'INVALID_OPTION' })
    expect(await mem.has('x2')).toBe(false)
    // Deleting the only entry of a type frees it for a new one.
    await mem.delete('k7')
    await mem.put('x1', 1, { type: 'tx' })
    expect((await mem.getEntry('x1'))?.type).toBe('tx')
    expect((await mem.getEntry('k8'))?.type).toBe('t8')
    await mem.close()
  })
})

describe('task scopes touch only what they wrote', () => {
  it('never takes over or deletes a user entry under its key', async () => {
    const { mem } = await open()
    await mem.put('job:notes', 'mine', { layer: 'insights' })
    const scope = await mem.openScope('job')
    expect(await code(scope.put('notes', 'theirs'))).toBe('INVALID_KEY')
    await scope.close()
    expect(await mem.get('job:notes')).toBe('mine')
    await mem.close()
  })

  it('two scopes whose keys meet share nothing', async () => {
    const { mem } = await open()
    const a = await mem.openScope('a')
    const ab = await mem.openScope('a:b')
    await a.put('b:c', 'from a')
    expect(await code(ab.put('c', 'from a:b'))).toBe('INVALID_KEY')
    await ab.close()
    expect(await mem.get('a:b:c')).toBe('from a')
    expect((await mem.getEntry('a:b:c'))?.refCount).toBe(1)
    await a.close()
    expect(await mem.has('a:b:c')).toBe(false)
    await mem.close()
  })

  it('a put issued after close() is refused; one issued before it lands and is released', async () => {
    const { mem } = await open()
    const scope = await mem.openScope('job')
    const before = scope.put('early', 1)
    const closing = scope.close()
    const after = scope.put('late', 2)
    expect(await code(after)).toBe('CLOSED')
    await before
    await closing
    expect(await mem.has('job:early')).toBe(false)
    expect(await mem.has('job:late')).toBe(false)
    await mem.close()
  })

  it('references of scopes still open at close are released on reopen', async () => {
    const h = await open()
    const scope = await h.mem.openScope('job')
    await scope.put('draft', 'd', { ttlMs: 1000 })
    await scope.put('source', 's', { type: 'evidence' })
    await h.mem.retain('job:source')
    await h.mem.close()
    expect(await code(scope.close())).toBe('CLOSED')
    const mem = await h.reopen()
    expect(await mem.has('job:draft')).toBe(false)
    expect(await mem.getEntry('job:source')).toMatchObject({ refCount: 1, tier: 'cold' })
    h.clock.advance(2000)
    expect((await mem.stats()).layers.interact!.count).toBe(1)
    await mem.close()
  })

  it('releases only the reference it holds: a user retain outlives the scope', async () => {
    const { mem } = await open()
    const scope = await mem.openScope('job')
    await scope.put('x', 1)
    await mem.delete('job:x')
    await mem.put('job:x', 'user', { layer: 'insights' })
    await mem.retain('job:x')
    await scope.close()
    expect(await mem.getEntry('job:x')).toMatchObject({ refCount: 1 })
    expect(await mem.get('job:x')).toBe('user')
    await mem.close()
  })
})

describe('the short-term layer deletes out loud', () => {
  it('a put that cleanup could only make room for by deleting it fails with LAYER_FULL', async () => {
    const { mem } = await open({ policy: { layers: { interact: { maxEntries: 5, transfer: { occupancy: 1, minImportance: 1 } } } } })
    for (let i = 0; i < 4; i++) {
      await mem.put(`held${i}`, i)
      await mem.retain(`held${i}`)
    }
    expect(await code(mem.put('new', 'x'))).toBe('LAYER_FULL')
    expect(await mem.has('new')).toBe(false)
    await mem.release('held0')
    expect((await mem.put('new', 'x')).key).toBe('new')
    expect(await mem.get('new')).toBe('x')
    await mem.close()
  })

  it('the first cleanup of a memory raises an alert; puts to a fitting layer keep everything', async () => {
    const h = await open()
    for (let i = 0; i < 200; i++) await h.mem.put(`m${i}`, i)
    expect(h.events.cleanup.length).toBeGreaterThan(0)
    expect(h.events.alert.filter((a) => a.name === 'layer-cleanup')).toHaveLength(1)
    for (let i = 0; i < 200; i++) await h.mem.put(`f${i}`, i, { layer: 'insights' })
    expect((await h.mem.query({ layer: 'insights' })).length).toBe(200)
    await h.mem.close()
  })
})

describe('small things that said the wrong thing', () => {
  it('a misspelt query field is INVALID_OPTION, not "everything"', async () => {
    const { mem } = await open(plainLayers)
    await mem.put('a', 1, { type: 'fact' })
    expect(await code(mem.query({ tpye: 'fact' } as never))).toBe('INVALID_OPTION')
    await mem.close()
  })

  it('scope.close() after the memory closed is CLOSED; a second close() waits for the first', async () => {
    const { mem } = await open()
    const scope = await mem.openScope('job')
    await scope.put('x', 1)
    let firstDone = false
    const first = mem.close().then(() => (firstDone = true))
    await mem.close()
    expect(firstDone).toBe(true)
    await first
    expect(await code(scope.close())).toBe('CLOSED')
    expect(await code(mem.get('x'))).toBe('CLOSED')
  })
})

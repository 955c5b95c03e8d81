import { expect, it } from 'vitest'
import { createMemory } from '../../src/core/index.ts'

// The README's createMemory example, step by step, so the README stays true.
it('the README example works as written', async () => {
  const mem = await createMemory({ maintenanceIntervalMs: 0 })
  await mem.put('msg:1', { role: 'user', text: 'book a table for two' }, { type: 'message', importance: 0.4 })
  await mem.put('pref:diet', 'vegetarian', { type: 'fact', layer: 'insights', importance: 0.9 })
  expect(await mem.get('msg:1')).toEqual({ role: 'user', text: 'book a table for two' })
  expect(await mem.getEntry('pref:diet')).toMatchObject({ tier: 'hot', layer: 'insights', type: 'fact' })
  expect((await mem.query({ type: 'message', limit: 20 })).map((e) => e.key)).toEqual(['msg:1'])
  const evicted: string[] = []
  void mem.on('evicted', (e) => evicted.push(`${e.key}:${e.reason}`))
  {
    await using task = await mem.openScope('plan-dinner')
    await task.put('draft', { restaurants: ['Luna', 'Verde'] })
    await task.put('source', 'https://example.org/luna', { type: 'evidence' })
  }
  expect(evicted).toEqual(['plan-dinner:draft:scope'])
  expect(await mem.getEntry('plan-dinner:source')).toMatchObject({ tier: 'cold' })
  expect(await mem.gc()).toMatchObject({ expired: 0 })
  const stats = await mem.stats()
  expect(Object.keys(stats)).toEqual([
    'tiers',
    'rates',
    'totals',
    'layers',
    'pressure',
    'hitRate',
    'latency',
    'health',
    'warm',
    'cold',
    'integrity',
    'embeddings',
    'archive',
    'storage',
  ])
  await mem.close()
})

// The README's embeddings example, with its "bring your own embedder" object.
it('the README embeddings example works with your own embedder', async () => {
  const callMyApi = async (texts: string[]) => texts.map((text) => Float32Array.from([text.length, 1, 0]).map((x, _, v) => x / Math.hypot(...v)))
  const mine = { id: 'my-api:v1', dims: 3, embed: async (texts: string[]) => callMyApi(texts) }
  const other = await createMemory({ maintenanceIntervalMs: 0, embeddings: { embedder: mine } })
  const [v] = await other.embed(['the user is vegetarian'])
  expect(v).toBeInstanceOf(Float32Array)
  expect(Math.hypot(...v!)).toBeCloseTo(1, 5)
  await other.embed(['the user is vegetarian'])
  expect((await other.stats()).embeddings.cache).toMatchObject({ hits: 1, misses: 1 })
  await other.close()
})

// The README's recall example, with a small embedder whose vectors say which words a text has.
it('the README recall example works as written', async () => {
  const words = ['user', 'vegetarian', 'eat', 'flight']
  const embedder = {
    id: 'words@1',
    dims: 4,
    // "eat" and "vegetarian" share a direction, as a real model would have them.
    embed: async (texts: string[]) =>
      texts.map((t) => {
        const v = Float32Array.from(words, (w) => (t.includes(w) ? 1 : 0))
        if (t.includes('eat')) v[1] = 1
        const norm = Math.hypot(...v) || 1
        return v.map((x) => x / norm)
      }),
  }
  const mem = await createMemory({ maintenanceIntervalMs: 0, embeddings: { embedder } })
  await mem.put('fact:1', { text: 'the user is vegetarian' }, { embed: true, type: 'fact' })
  await mem.put('fact:2', { text: 'the flight leaves at nine' }, { embed: true, type: 'fact' })
  const hits = await mem.recall('what does the user eat?', { k: 5, type: 'fact' })
  expect(hits[0]).toMatchObject({ key: 'fact:1', namespace: 'default', entry: { type: 'fact' } })
  expect(hits[0]!.score).toBeGreaterThan(hits[1]?.score ?? 0)
  const queryVector = (await mem.embed(['the flight']))[0]!
  expect((await mem.recall(queryVector, { k: 10, minScore: 0.3 })).map((h) => h.key)).toEqual(['fact:2'])
  await mem.close()
})

// The README's backup example, as written (with a fake clock so `until` means something).
it('the README backup example works as written', async () => {
  let now = 1_700_000_000_000
  const clock = { now: () => now }
  const mem = await createMemory({ maintenanceIntervalMs: 0, clock })
  await mem.put('fact:1', 'kept', { layer: 'assets' })
  const stream = await mem.backup()
  const file = await new Response(stream).blob()
  now += 2 * 3_600_000
  await mem.put('fact:2', 'later', { layer: 'assets' })
  const later = await mem.backup({ incremental: true })
  const other = await createMemory({ maintenanceIntervalMs: 0, clock })
  await other.restoreBackup([file, later], { until: now - 3_600_000 })
  expect(await other.getMany(['fact:1', 'fact:2'])).toEqual(['kept', undefined])
  for (const m of [mem, other]) await m.close()
})

import { describe, expect, it } from 'vitest'
import { openMemory, type RemoteMemory } from '../../src/index.ts'
import { VectorChurn } from '../fixtures/churn.ts'
import { clusteredVectors, cosine } from '../fixtures/vectors.ts'

const unique = (what: string) => `${what}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`

/** Each query's top 10 as [key, score], one query at a time. */
async function answersOf(mem: RemoteMemory, queries: Float32Array[]): Promise<Array<Array<[string, number]>>> {
  const all = []
  for (const q of queries) all.push((await mem.recall(q, { k: 10 })).map((h): [string, number] => [h.key, h.score]))
  return all
}

describe('recall with index.maxResidentBytes, through the worker over IndexedDB and OPFS', () => {
  it('keeps a budget of codes in memory, reads the rest back from its OPFS record file, and answers as the whole graph does, across a new worker', async () => {
    const dims = 64
    const data = clusteredVectors(300, dims, 8, 41)
    const queries = clusteredVectors(10, dims, 8, 42)
    const index = { m: 4, efConstruction: 12 }
    const budget = 50 * dims
    // One layer without a capacity: every entry stays, so both memories hold the same vectors.
    const policy = { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' as const } } }
    const whole = await openMemory({ name: unique('whole'), policy, embeddings: { index } })
    const name = unique('paged')
    const paged = await openMemory({ name, policy, embeddings: { index: { ...index, maxResidentBytes: budget } } })
    for (const mem of [whole, paged]) {
      await mem.putMany(data.map((v, i) => ({ key: `k${i}`, value: i, vector: v })))
    }
    const answers = (mem: RemoteMemory) => answersOf(mem, queries)
    const expected = await answers(whole)
    expect(await answers(paged)).toEqual(expected)
    const full = (await whole.stats()).embeddings.index
    const small = (await paged.stats()).embeddings.index
    expect(small).toMatchObject({ vectors: 300, residentVectors: 50 })
    expect(full.bytes - small.bytes).toBeGreaterThan(250 * dims * 0.9)
    await paged.close()

    // The codes on disk, one 64-byte record a node, beside the Float32 copies.
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(`tiermem-${encodeURIComponent(name)}`)
    expect((await (await dir.getFileHandle(`codes-${dims}.rec`)).getFile()).size).toBe(300 * dims)
    const again = await openMemory({ name, policy, embeddings: { index: { ...index, maxResidentBytes: budget } } })
    expect((await again.stats()).embeddings.index).toMatchObject({ vectors: 300, residentVectors: 50 })
    expect(await answers(again)).toEqual(expected)
    await again.close()
    await whole.close()
  }, 60_000)

  it('pressure pages a graph past its hot budget out to its OPFS record file, answers as before, and the codes come back with room', async () => {
    const dims = 256
    const data = clusteredVectors(600, dims, 10, 45)
    const queries = clusteredVectors(10, dims, 10, 46)
    const index = { m: 8, efConstruction: 40 }
    const hot = 250_000 // the graph (~333 KB) alone is past the whole budget
    const policy = { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' as const } } }
    const name = unique('pressed')
    const whole = await openMemory({ name: unique('whole'), policy, embeddings: { index } })
    const pressed = await openMemory({ name, policy, hot: { maxBytes: 10 * hot }, embeddings: { index } })
    for (const mem of [whole, pressed]) await mem.putMany(data.map((v, i) => ({ key: `k${i}`, value: i, vector: v })))
    const answers = (mem: RemoteMemory) => answersOf(mem, queries)
    const expected = await answers(whole)
    expect(await answers(pressed)).toEqual(expected)
    await pressed.configure({ hot: { maxBytes: hot } })
    await pressed.checkPressure()
    const after = (await pressed.stats()).embeddings.index
    expect(after.bytes).toBeLessThanOrEqual(0.65 * hot)
    expect(after.residentVectors).toBeLessThan(400)
    // Every code was written before any left memory, one 256-byte record a node.
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(`tiermem-${encodeURIComponent(name)}`)
    expect((await (await dir.getFileHandle(`codes-${dims}.rec`)).getFile()).size).toBe(600 * dims)
    expect(await answers(pressed)).toEqual(expected)
    await pressed.configure({ hot: { maxBytes: 10 * hot } })
    await pressed.checkPressure()
    await answers(pressed)
    await answers(pressed)
    expect((await pressed.stats()).embeddings.index.residentVectors).toBeGreaterThan(500)
    expect(await answers(pressed)).toEqual(expected)
    await pressed.close()
    await whole.close()
  }, 60_000)

  it('under churn, deleted vectors’ graph places and OPFS records are reused: the record file stays near the size of what is live, across a new worker', async () => {
    const dims = 32
    const data = clusteredVectors(800, dims, 8, 43)
    const q = clusteredVectors(1, dims, 8, 44)[0]!
    const policy = { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' as const } } }
    const name = unique('churn')
    const options = { name, policy, embeddings: { index: { m: 4, efConstruction: 12, maxResidentBytes: 40 * dims } } }
    const churn = new VectorChurn(data)
    const { live } = churn
    /** Every live entry comes back (k above the count: the exact pass), scored on its own vector. */
    const checkAll = async (mem: RemoteMemory) => {
      const hits = await mem.recall(q, { k: 1_000 })
      expect(new Set(hits.map((h) => h.key))).toEqual(new Set(live.keys()))
      for (const hit of hits) expect(hit.score).toBeCloseTo(cosine(live.get(hit.key)!, q), 5)
    }
    const mem = await openMemory(options)
    await mem.putMany(Array.from({ length: 200 }, (_, i) => churn.fresh(`k${i}`)))
    await checkAll(mem)
    for (let round = 0; round < 4; round++) {
      await churn.round(mem, round, 2, 30)
      await checkAll(mem)
    }
    await mem.close()
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(`tiermem-${encodeURIComponent(name)}`)
    // One record a node. A deleted entry's vector goes just after it, in the background, so a
    // round's new vectors may take new places before its deletes free old ones; the next round
    // takes those. 200 live + one round's 130 at most, where without reuse there were 720.
    expect(churn.used).toBe(720)
    expect((await (await dir.getFileHandle(`codes-${dims}.rec`)).getFile()).size).toBeLessThanOrEqual(330 * dims)
    const again = await openMemory(options)
    expect((await again.stats()).embeddings.index).toMatchObject({ vectors: 200 })
    await checkAll(again)
    await again.close()
  }, 60_000)
})

import { describe, expect, it } from 'vitest'
import { openMemory, type RemoteMemory } from '../../src/index.ts'
import { clusteredVectors } from '../fixtures/vectors.ts'

const unique = (what: string) => `${what}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`

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
    const answers = async (mem: RemoteMemory) => {
      const all = []
      for (const q of queries) all.push((await mem.recall(q, { k: 10 })).map((h) => [h.key, h.score]))
      return all
    }
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
})

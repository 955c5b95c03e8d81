/// <reference types="vite/client" />
import ortMjs from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url'
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url'
import { describe, expect, it } from 'vitest'
import { openMemory } from '../../src/index.ts'
import { embeddingWorker } from '../../src/embeddings/index.ts'
import { TINY_MODEL, expectedVector } from '../fixtures/tiny-model-spec.ts'

const unique = (what: string) => `${what}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`
const model = {
  model: TINY_MODEL,
  dtype: 'q8' as const,
  localModelPath: '/test/fixtures/models/',
  allowRemoteModels: false,
  wasmPaths: { mjs: ortMjs, wasm: ortWasm },
}

describe('openMemory() with an embedder in its worker (transformers.js on the tiny test model)', () => {
  it('embeds in the worker, caches what it computed, and a new worker over the same memory pays nothing', async () => {
    const name = unique('embed')
    const progress: Array<{ file: string; loaded: number; total: number }> = []
    const mem = await openMemory({ name, worker: embeddingWorker(), embeddings: { model, onProgress: (p) => progress.push(p) } })
    const [v] = await mem.embed(['book a table for two'])
    const want = expectedVector('book a table for two')
    for (let d = 0; d < 384; d++) expect(v![d]).toBeCloseTo(want[d]!, 4)
    await mem.embed(['book a table for two'])
    expect((await mem.stats()).embeddings.cache).toMatchObject({ entries: 1, hits: 1, misses: 1 })
    expect(progress.some((p) => p.file.endsWith('.onnx'))).toBe(true)
    // An entry embedded as it is put: the text is computed once (a hit here), the vector stored with it.
    await mem.put('fact:1', { text: 'book a table for two' }, { embed: true })
    expect((await mem.stats()).embeddings.cache).toMatchObject({ hits: 2, misses: 1 })
    expect((await mem.stats()).layers['tiermem:embeddings']!.count).toBe(2)
    await mem.close()

    const again = await openMemory({ name, worker: embeddingWorker(), embeddings: { model } })
    const [cached] = await again.embed(['book a table for two'])
    expect([...cached!]).toEqual([...v!])
    expect((await again.stats()).embeddings.cache).toMatchObject({ entries: 1, hits: 1, misses: 0 })
    await again.close()
  })

  it('recalls by text in the worker, across every tier, and after a new worker opens the memory', async () => {
    const name = unique('recall')
    const mem = await openMemory({ name, worker: embeddingWorker(), embeddings: { model } })
    // Texts of the tiny model's whole words (tiny-model-spec.ts), so their vectors can be computed here too.
    const facts = ['the user is vegetarian', 'what does the user eat', 'book a table for two', 'a trip to lisbon', 'hello world']
    await mem.putMany(facts.map((text, i) => ({ key: `fact:${i}`, value: { text }, embed: true, tier: i % 2 === 0 ? ('warm' as const) : ('hot' as const) })))
    await mem.demote('fact:4')
    await mem.demote('fact:4')
    expect((await mem.getEntry('fact:4'))!.tier).toBe('cold')
    const hits = await mem.recall('hello world', { k: 2 })
    expect(hits[0]).toMatchObject({ key: 'fact:4', namespace: 'default' })
    expect(hits[0]!.score).toBeCloseTo(1, 4)
    expect(hits[0]!.entry.tier).toBe('cold')
    const byVector = await mem.recall(expectedVector('a trip to lisbon'), { k: 1 })
    expect(byVector.map((h) => h.key)).toEqual(['fact:3'])
    void mem.delete('fact:3')
    expect((await mem.recall(expectedVector('a trip to lisbon'), { k: 5 })).map((h) => h.key)).not.toContain('fact:3')
    await mem.close()
    // The re-ranking copies: an OPFS record file beside the cold segments, one 384 × 4 + 8 byte record per vector.
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(`tiermem-${encodeURIComponent(name)}`)
    const file = await (await dir.getFileHandle('vectors-1544.rec')).getFile()
    expect(file.size).toBe(5 * 1544)

    const again = await openMemory({ name, worker: embeddingWorker(), embeddings: { model } })
    expect((await again.stats()).embeddings.index).toMatchObject({ vectors: 4 })
    expect((await again.recall('book a table for two', { k: 1 }))[0]).toMatchObject({ key: 'fact:2' })
    await again.close()
  })

  it('the default worker cannot load a model and says which worker can; without a model embed is EMBEDDER_MISSING', async () => {
    await expect(openMemory({ name: unique('no-model'), embeddings: { model } })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      message: expect.stringContaining('embeddingWorker()'),
    })
    const mem = await openMemory({ name: unique('bare') })
    await expect(mem.embed(['x'])).rejects.toMatchObject({ code: 'EMBEDDER_MISSING' })
    await mem.close()
  })

  it('a model that fails to load rejects openMemory with the reason and leaves the memory free to open', async () => {
    const name = unique('bad-model')
    await expect(openMemory({ name, worker: embeddingWorker(), embeddings: { model: { ...model, model: 'nobody/missing' } } })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      message: expect.stringMatching(/could not load the embedding model 'nobody\/missing'/),
    })
    const mem = await openMemory({ name })
    await mem.put('k', 1)
    await mem.close()
  })
})

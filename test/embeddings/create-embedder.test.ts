import { describe, expect, it } from 'vitest'
import { createMemory } from '../../src/core/index.ts'
import { createEmbedder } from '../../src/embeddings/index.ts'
import { TINY_MODEL, expectedVector } from '../fixtures/tiny-model-spec.ts'

const localModelPath = new URL('../fixtures/models/', import.meta.url).pathname
const tiny = () => createEmbedder({ model: TINY_MODEL, dtype: 'q8', localModelPath, allowRemoteModels: false })
const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * b[i]!, 0)

describe('createEmbedder in Node (transformers.js on the tiny test model, no network)', () => {
  it('names the model, weights and pooling, and knows its dimensions', async () => {
    const embedder = await tiny()
    expect(embedder.id).toBe(`${TINY_MODEL}@q8:mean`)
    expect(embedder.dims).toBe(384)
  })

  it('returns one unit-length vector per text, in order, the same for the same text', async () => {
    const embedder = await tiny()
    const [a, b, again] = await embedder.embed(['The user is vegetarian', 'book a table for two', 'The user is vegetarian'])
    for (const v of [a!, b!]) {
      expect(v).toBeInstanceOf(Float32Array)
      expect(v.length).toBe(384)
      expect(Math.sqrt(dot(v, v))).toBeCloseTo(1, 5)
    }
    expect([...again!]).toEqual([...a!])
    expect(dot(a!, b!)).toBeLessThan(0.999)
    expect(await embedder.embed([])).toEqual([])
  })

  it("computes what the model says: each token's row through tokenizer, ONNX and masked mean pooling", async () => {
    const embedder = await tiny()
    const [v] = await embedder.embed(['The user is vegetarian'])
    const want = expectedVector('the user is vegetarian')
    for (let i = 0; i < 384; i++) expect(v![i]).toBeCloseTo(want[i]!, 5)
  })

  it('pools over the tokens of each text, not the padding of a batch', async () => {
    const embedder = await tiny()
    const [alone] = await embedder.embed(['hello'])
    const [batched] = await embedder.embed(['hello', 'a much longer text about a trip to lisbon with many tokens'])
    for (let i = 0; i < 384; i++) expect(batched![i]).toBeCloseTo(alone![i]!, 5)
  })

  it('fails with a clear error when the model is not there and remote models are off', async () => {
    await expect(createEmbedder({ model: 'nobody/missing-model', dtype: 'q8', localModelPath, allowRemoteModels: false })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      message: expect.stringMatching(/could not load the embedding model 'nobody\/missing-model'/),
    })
  })

  it('serves a memory: mem.embed computes each text once with the real pipeline and caches it', async () => {
    const embedder = await tiny()
    let computed = 0
    const counted = { id: embedder.id, dims: embedder.dims, embed: (texts: string[]) => ((computed += texts.length), embedder.embed(texts)) }
    const mem = await createMemory({ maintenanceIntervalMs: 0, embeddings: { embedder: counted } })
    const [first] = await mem.embed(['what does the user eat ?'])
    const [second] = await mem.embed(['what does the user eat ?'])
    expect(computed).toBe(1)
    const want = expectedVector('what does the user eat ?')
    for (let i = 0; i < 384; i++) expect(second![i]).toBeCloseTo(want[i]!, 5)
    expect([...second!]).toEqual([...first!])
    await mem.close()
  })
})

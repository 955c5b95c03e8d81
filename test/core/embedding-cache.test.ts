import { describe, expect, it } from 'vitest'
import { createMemory, memoryStore, memoryStoreData, type Embedder, type Memory } from '../../src/core/index.ts'

/** A deterministic embedder that counts its calls and texts: vector i of a text is its char codes folded, normalised. */
function countingEmbedder(dims = 8, id = 'test-embedder@1') {
  const calls: string[][] = []
  let fail: Error | undefined
  let gate: Promise<void> | undefined
  const embedder: Embedder = {
    id,
    dims,
    async embed(texts) {
      calls.push([...texts])
      if (gate) await gate
      if (fail) throw fail
      return texts.map((text) => {
        const v = new Float32Array(dims)
        for (let i = 0; i < text.length; i++) v[i % dims]! += text.charCodeAt(i) / 100
        v[0]! += 1
        const norm = Math.hypot(...v)
        return v.map((x) => x / norm)
      })
    },
  }
  return {
    embedder,
    calls,
    failWith: (error: Error | undefined) => (fail = error),
    hold: () => {
      let release!: () => void
      gate = new Promise((resolve) => (release = resolve))
      return () => {
        gate = undefined
        release()
      }
    },
  }
}

const plain = { maintenanceIntervalMs: 0 }

describe('the embedding cache (mem.embed)', () => {
  it('computes each text once: a second embed of the same text is a hit, with the same vector', async () => {
    const { embedder, calls } = countingEmbedder()
    const mem = await createMemory({ ...plain, embeddings: { embedder } })
    const [a] = await mem.embed(['the user is vegetarian'])
    const [again] = await mem.embed(['the user is vegetarian'])
    expect(calls).toEqual([['the user is vegetarian']])
    expect([...again!]).toEqual([...a!])
    expect((await mem.stats()).embeddings.cache).toMatchObject({ entries: 1, hits: 1, misses: 1 })
    expect(a!.length).toBe(8)
    await mem.close()
  })

  it('each caller gets its own copy: changing a returned vector changes nothing cached', async () => {
    const { embedder } = countingEmbedder()
    const mem = await createMemory({ ...plain, embeddings: { embedder } })
    const [first, shared] = await Promise.all([mem.embed(['same']), mem.embed(['same'])])
    const original = [...first![0]!]
    first![0]!.fill(0)
    expect([...shared![0]!]).toEqual(original)
    const [hit] = await mem.embed(['same'])
    expect([...hit!]).toEqual(original)
    hit!.fill(9)
    expect([...(await mem.embed(['same']))[0]!]).toEqual(original)
    await mem.close()
  })

  it('persists: a memory reopened over the same stores pays nothing for a text it has seen', async () => {
    const warm = memoryStoreData()
    const cold = memoryStoreData()
    const stores = () => ({ warm: memoryStore({ data: warm }), cold: memoryStore({ data: cold }) })
    const first = countingEmbedder()
    const mem = await createMemory({ ...plain, stores: stores(), embeddings: { embedder: first.embedder } })
    const [a] = await mem.embed(['remember the milk'])
    await mem.close()
    const second = countingEmbedder()
    const again = await createMemory({ ...plain, stores: stores(), embeddings: { embedder: second.embedder } })
    const [b] = await again.embed(['remember the milk'])
    expect(second.calls).toEqual([])
    expect([...b!]).toEqual([...a!])
    expect((await again.stats()).embeddings.cache).toMatchObject({ entries: 1, hits: 1, misses: 0 })
    await again.close()
  })

  it('texts arriving together go as one batch (up to 32), and the same text in flight is computed once', async () => {
    const { embedder, calls } = countingEmbedder()
    const mem = await createMemory({ ...plain, embeddings: { embedder } })
    const texts = Array.from({ length: 40 }, (_, i) => `text ${i}`)
    const results = await Promise.all([mem.embed(texts.slice(0, 20)), mem.embed(texts.slice(20)), mem.embed(['text 3', 'text 25'])])
    // At most 32 a batch, every text computed once: the third call shares the others' work (or,
    // if its hashes came back after that work was stored, reads it from the cache).
    expect(calls.length).toBeLessThanOrEqual(2)
    for (const batch of calls) expect(batch.length).toBeLessThanOrEqual(32)
    expect(calls.flat().sort()).toEqual([...texts].sort())
    expect([...results[2]![0]!]).toEqual([...results[0]![3]!])
    const { hits, misses } = (await mem.stats()).embeddings.cache
    expect(hits + misses).toBe(42)
    await mem.close()
  })

  it('a text arriving while the embedder is busy waits for it and goes in the next batch', async () => {
    const { embedder, calls, hold } = countingEmbedder()
    const mem = await createMemory({ ...plain, embeddings: { embedder } })
    const release = hold()
    const first = mem.embed(['one'])
    await new Promise((resolve) => setTimeout(resolve, 5))
    const second = mem.embed(['two'])
    const third = mem.embed(['three'])
    await new Promise((resolve) => setTimeout(resolve, 5))
    release()
    await Promise.all([first, second, third])
    expect(calls).toEqual([['one'], ['two', 'three']])
    await mem.close()
  })

  it('a failed embed rejects every waiting call, stores nothing, and the next call tries again', async () => {
    const { embedder, calls, failWith } = countingEmbedder()
    const mem = await createMemory({ ...plain, embeddings: { embedder } })
    failWith(new Error('model crashed'))
    await expect(Promise.all([mem.embed(['a']), mem.embed(['a', 'b'])])).rejects.toThrow('model crashed')
    expect((await mem.stats()).embeddings.cache.entries).toBe(0)
    expect((await mem.stats()).tiers.hot.count).toBe(0)
    failWith(undefined)
    expect(await mem.embed(['a', 'b'])).toHaveLength(2)
    expect(calls.at(-1)).toEqual(['a', 'b'])
    await mem.close()
  })

  it('an embedder that returns the wrong dimensions fails with DIMENSION_MISMATCH and stores nothing', async () => {
    const embedder: Embedder = { id: 'liar@1', dims: 4, embed: async (texts) => texts.map(() => new Float32Array(3)) }
    const mem = await createMemory({ ...plain, embeddings: { embedder } })
    await expect(mem.embed(['x'])).rejects.toMatchObject({ code: 'DIMENSION_MISMATCH' })
    expect((await mem.stats()).embeddings.cache.entries).toBe(0)
    await mem.close()
  })

  it('keeps at most maxEntries, deleting the least recently used first', async () => {
    const { embedder, calls } = countingEmbedder()
    const mem = await createMemory({ ...plain, embeddings: { embedder, cache: { maxEntries: 3 } } })
    await mem.embed(['a'])
    await mem.embed(['b'])
    await mem.embed(['c'])
    await mem.embed(['a']) // a is now the most recent
    await mem.embed(['d']) // b goes
    expect((await mem.stats()).embeddings.cache.entries).toBe(3)
    calls.length = 0
    await mem.embed(['a', 'c', 'd'])
    expect(calls).toEqual([])
    await mem.embed(['b'])
    expect(calls).toEqual([['b']])
    await mem.close()
  })

  it('keeps within maxBytes', async () => {
    const { embedder } = countingEmbedder(64)
    const mem = await createMemory({ ...plain, embeddings: { embedder, cache: { maxBytes: 1_000 } } })
    for (let i = 0; i < 10; i++) await mem.embed([`text ${i}`])
    const { cache } = (await mem.stats()).embeddings
    expect(cache.bytes).toBeLessThanOrEqual(1_000)
    expect(cache.entries).toBeGreaterThan(0)
    await mem.close()
  })

  it('quantize stores a quarter of the bytes, and a text reads back the same vector on a miss and on a hit', async () => {
    const full = countingEmbedder(384)
    const small = countingEmbedder(384)
    const f = await createMemory({ ...plain, embeddings: { embedder: full.embedder } })
    const q = await createMemory({ ...plain, embeddings: { embedder: small.embedder, cache: { quantize: true } } })
    const [exact] = await f.embed(['the user is vegetarian'])
    const [miss] = await q.embed(['the user is vegetarian'])
    const [hit] = await q.embed(['the user is vegetarian'])
    expect([...hit!]).toEqual([...miss!])
    for (let i = 0; i < 384; i++) expect(Math.abs(miss![i]! - exact![i]!)).toBeLessThan(0.01)
    const fullBytes = (await f.stats()).embeddings.cache.bytes
    const smallBytes = (await q.stats()).embeddings.cache.bytes
    expect(smallBytes).toBeLessThan(fullBytes * 0.3)
    await f.close()
    await q.close()
  })

  it('the cache is not the user’s: query() leaves it out, its namespace cannot be named, clear() empties it', async () => {
    const { embedder } = countingEmbedder()
    const mem: Memory = await createMemory({ ...plain, embeddings: { embedder } })
    await mem.put('note', 'kept')
    await mem.embed(['hello'])
    expect((await mem.query()).map((e) => e.key)).toEqual(['note'])
    await expect(mem.get('x', { namespace: 'tiermem:embeddings' })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(mem.put('x', 1, { namespace: 'tiermem:mine' })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    expect(await mem.clear()).toBe(2)
    expect((await mem.stats()).embeddings.cache.entries).toBe(0)
    await mem.close()
  })

  it('without an embedder embed fails with EMBEDDER_MISSING; bad input with INVALID_VALUE', async () => {
    const bare = await createMemory(plain)
    await expect(bare.embed(['x'])).rejects.toMatchObject({ code: 'EMBEDDER_MISSING' })
    expect((await bare.stats()).embeddings.cache).toEqual({ entries: 0, bytes: 0, hits: 0, misses: 0 })
    await bare.close()
    const { embedder } = countingEmbedder()
    const mem = await createMemory({ ...plain, embeddings: { embedder } })
    await expect(mem.embed('x' as unknown as string[])).rejects.toMatchObject({ code: 'INVALID_VALUE' })
    await expect(mem.embed([1 as unknown as string])).rejects.toMatchObject({ code: 'INVALID_VALUE' })
    await expect(mem.embed(['\ud800'])).rejects.toMatchObject({ code: 'INVALID_VALUE' })
    expect(await mem.embed([])).toEqual([])
    await mem.close()
    await expect(createMemory({ embeddings: { embedder: { id: '', dims: 3, embed: async () => [] } } })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(createMemory({ embeddings: { embedder, cache: { maxEntries: 0 } } })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
  })

  it('close() refuses texts still waiting for a batch, and never hangs', async () => {
    const { embedder, hold } = countingEmbedder()
    const mem = await createMemory({ ...plain, embeddings: { embedder } })
    const release = hold()
    const busy = mem.embed(['first'])
    await new Promise((resolve) => setTimeout(resolve, 5))
    const waiting = mem.embed(['second'])
    const closing = mem.close()
    await expect(waiting).rejects.toMatchObject({ code: 'CLOSED' })
    release()
    expect(await busy).toHaveLength(1)
    await closing
  })
})

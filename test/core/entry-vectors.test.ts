import { describe, expect, it } from 'vitest'
import { createMemory, memoryStore, memoryStoreData, type Embedder, type Memory } from '../../src/core/index.ts'
import { ENGINE_INTERNALS, type EngineInternals } from '../../src/core/api/internals.ts'
import { crashingStore } from './helpers.ts'

const plain = { maintenanceIntervalMs: 0, policy: { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' as const } } } }
const internals = (mem: Memory) => (mem as unknown as { [ENGINE_INTERNALS]: EngineInternals })[ENGINE_INTERNALS]
const vec = (...xs: number[]) => Float32Array.from(xs)
/** Lets the background sweeps queued by a change run. */
const settle = async (mem: Memory) => {
  await mem.flush()
  await new Promise((resolve) => setTimeout(resolve, 5))
  await mem.flush()
}

/** An embedder whose answer for a text is its length and its first char code, normalised; optionally held or failing. */
function textEmbedder() {
  let gate: Promise<void> | undefined
  let fail: Error | undefined
  const texts: string[] = []
  const embedder: Embedder = {
    id: 'len@1',
    dims: 2,
    async embed(batch) {
      texts.push(...batch)
      if (gate) await gate
      if (fail) throw fail
      return batch.map((t) => {
        const v = vec(t.length, t.charCodeAt(0) || 1)
        const n = Math.hypot(v[0]!, v[1]!)
        return vec(v[0]! / n, v[1]! / n)
      })
    },
  }
  return {
    embedder,
    texts,
    failWith: (error: Error | undefined) => (fail = error),
    hold() {
      let release!: () => void
      gate = new Promise((resolve) => (release = resolve))
      return () => {
        gate = undefined
        release()
      }
    },
  }
}

describe("entries' vectors: put(..., { embed | vector })", () => {
  it('stores a given vector with its entry, without an embedder, and the entry reads as before', async () => {
    const mem = await createMemory(plain)
    await mem.put('doc:7', { caption: 'a cat' }, { vector: vec(1, 2, 3) })
    expect(await mem.get('doc:7')).toEqual({ caption: 'a cat' })
    expect([...(await internals(mem).vectorOf('doc:7'))!]).toEqual([1, 2, 3])
    // The first vector fixes the dimensions.
    await expect(mem.put('doc:8', 1, { vector: vec(1, 2) })).rejects.toMatchObject({ code: 'DIMENSION_MISMATCH' })
    expect(await mem.has('doc:8')).toBe(false)
    expect((await mem.query()).map((e) => e.key)).toEqual(['doc:7'])
    await mem.close()
  })

  it('embed: true embeds a string value or value.text; embed: string embeds that text', async () => {
    const { embedder, texts } = textEmbedder()
    const mem = await createMemory({ ...plain, embeddings: { embedder } })
    await mem.put('fact:1', { text: 'the user is vegetarian' }, { embed: true })
    await mem.put('fact:2', 'plain string', { embed: true })
    await mem.put('doc:1', new Uint8Array(4), { embed: 'caption to embed' })
    expect(texts).toEqual(['the user is vegetarian', 'plain string', 'caption to embed'])
    const [want] = await mem.embed(['the user is vegetarian'])
    expect([...(await internals(mem).vectorOf('fact:1'))!]).toEqual([...want!])
    await expect(mem.put('bad', { other: 1 }, { embed: true })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(mem.put('both', 'x', { embed: true, vector: vec(1, 0) })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(mem.put('wrong', 'x', { vector: vec(1, 0, 0) })).rejects.toMatchObject({ code: 'DIMENSION_MISMATCH' })
    expect(await mem.has('bad')).toBe(false)
    await mem.close()
  })

  it('without an embedder, embed fails with EMBEDDER_MISSING and stores nothing', async () => {
    const mem = await createMemory(plain)
    await expect(mem.put('k', 'text', { embed: true })).rejects.toMatchObject({ code: 'EMBEDDER_MISSING' })
    expect(await mem.has('k')).toBe(false)
    await mem.close()
  })

  it('a failed embed fails the put and changes nothing already stored', async () => {
    const { embedder, failWith } = textEmbedder()
    const mem = await createMemory({ ...plain, embeddings: { embedder } })
    await mem.put('k', 'old value', { embed: true })
    const before = await internals(mem).vectorOf('k')
    failWith(new Error('model crashed'))
    await expect(mem.put('k', 'new value', { embed: true })).rejects.toThrow('model crashed')
    expect(await mem.get('k')).toBe('old value')
    expect([...(await internals(mem).vectorOf('k'))!]).toEqual([...before!])
    await mem.close()
  })

  it('keeps issue order while the embedding is computed: a later put of the key lands after it', async () => {
    const { embedder, hold } = textEmbedder()
    const mem = await createMemory({ ...plain, embeddings: { embedder } })
    const release = hold()
    const first = mem.put('k', 'embedded first', { embed: true })
    const second = mem.put('k', 'plain second')
    const read = mem.get('k')
    await new Promise((resolve) => setTimeout(resolve, 10))
    release()
    await Promise.all([first, second])
    expect(await read).toBe('plain second')
    expect(await mem.get('k')).toBe('plain second')
    // The vector belonged to the first value: the second has none.
    expect(await internals(mem).vectorOf('k')).toBeUndefined()
    await mem.close()
  })

  it('a putMany with vectors is all or nothing, vectors included', async () => {
    const mem = await createMemory(plain)
    const infos = await mem.putMany([
      { key: 'a', value: 1, vector: vec(1, 0) },
      { key: 'b', value: 2 },
      { key: 'c', value: 3, vector: vec(0, 1) },
    ])
    expect(infos.map((i) => i.key)).toEqual(['a', 'b', 'c'])
    expect([...(await internals(mem).vectorOf('c'))!]).toEqual([0, 1])
    await expect(
      mem.putMany([
        { key: 'd', value: 4, vector: vec(1, 1) },
        { key: 'e', value: 5, vector: vec(1, 1, 1) },
      ]),
    ).rejects.toMatchObject({
      code: 'DIMENSION_MISMATCH',
    })
    expect(await mem.has('d')).toBe(false)
    await mem.close()
  })

  it('deleting, overwriting or expiring an entry removes its vector', async () => {
    let now = 1_000
    const mem = await createMemory({ ...plain, clock: { now: () => now } })
    await mem.put('gone', 1, { vector: vec(1, 0) })
    await mem.put('replaced', 1, { vector: vec(1, 0) })
    await mem.put('expires', 1, { vector: vec(1, 0), ttlMs: 50 })
    const vectorEntries = async () => (await mem.stats()).layers['tiermem:embeddings']!.count
    expect(await vectorEntries()).toBe(3)
    await mem.delete('gone')
    await mem.put('replaced', 2)
    now += 100
    await mem.gc()
    await settle(mem)
    expect(await internals(mem).vectorOf('replaced')).toBeUndefined()
    expect(await vectorEntries()).toBe(0)
    await mem.close()
  })

  it("an entry overwritten with new vectors, calls issued together, keeps only its last value's vector; deleted, none", async () => {
    const mem = await createMemory(plain)
    // The vector entries there are, followed on the change feed (the layer's count also holds the index's saved pages).
    const vectors = new Set<string>()
    internals(mem).changes((change) => {
      if (change.namespace !== 'tiermem:vectors') return
      if (change.kind === 'put') vectors.add(change.key)
      else if (change.kind === 'delete') vectors.delete(change.key)
    })
    await Promise.all([1, 2, 3, 4].map((n) => mem.put('doc', n, { vector: vec(n, 1) })))
    await settle(mem)
    expect(await mem.get('doc')).toBe(4)
    expect([...(await internals(mem).vectorOf('doc'))!]).toEqual([4, 1])
    expect(vectors.size).toBe(1)
    // Back to an earlier value: its vector is the current one again, the others go.
    await Promise.all([mem.put('doc', 5, { vector: vec(5, 1) }), mem.put('doc', 1, { vector: vec(1, 2) })])
    await settle(mem)
    expect([...(await internals(mem).vectorOf('doc'))!]).toEqual([1, 2])
    expect(vectors.size).toBe(1)
    await mem.delete('doc')
    await settle(mem)
    expect(vectors.size).toBe(0)
    await mem.close()
  })

  it('at open, deletes the vectors a crash left without their value, counting no access on the ones it keeps', async () => {
    const warm = memoryStoreData()
    const cold = memoryStoreData()
    const counter = { remaining: Number.POSITIVE_INFINITY }
    const crashing = await createMemory({ ...plain, stores: { warm: crashingStore(memoryStore({ data: warm }), counter), cold: memoryStore({ data: cold }) } })
    await crashing.putMany([
      { key: 'kept', value: 'k', vector: vec(1, 0) },
      { key: 'left', value: 'v1', vector: vec(0, 1) },
    ])
    // The recall index saved (so the reopen reads no vector to rebuild it); then the overwrite
    // lands, and the sweep of the old value's vector dies with the process.
    await crashing.flush()
    counter.remaining = 1
    await crashing.put('left', 'v2')
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(counter.remaining).toBe(-1)
    await crashing.close().catch(() => undefined)

    const again = await createMemory({ ...plain, stores: { warm: memoryStore({ data: warm }), cold: memoryStore({ data: cold }) } })
    await settle(again)
    // 'kept' is the one vector left (the recall index counts every vector entry there is).
    expect((await again.stats()).embeddings.index.vectors).toBe(1)
    // Found without reading a vector as the app would: each such read counted an access, which every
    // close then journaled again (19 MB at 100k vectors, measured in Chromium).
    expect((await again.stats()).totals.gets).toBe(0)
    expect(await internals(again).vectorOf('left')).toBeUndefined()
    expect([...(await internals(again).vectorOf('kept'))!]).toEqual([1, 0])
    await again.close()
  })

  it('vectors persist with their entries across a reopen', async () => {
    const warm = memoryStoreData()
    const cold = memoryStoreData()
    const stores = () => ({ warm: memoryStore({ data: warm }), cold: memoryStore({ data: cold }) })
    const mem = await createMemory({ ...plain, stores: stores() })
    await mem.put('kept', { text: 'x' }, { vector: vec(0.6, 0.8) })
    await mem.close()
    const again = await createMemory({ ...plain, stores: stores() })
    expect([...(await internals(again).vectorOf('kept'))!]).toEqual([Float32Array.from([0.6])[0], Float32Array.from([0.8])[0]])
    await again.close()
  })
})

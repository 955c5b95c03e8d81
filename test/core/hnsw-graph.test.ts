import { describe, expect, it } from 'vitest'
import { HnswGraph, normalised, quantise } from '../../src/core/recall/hnsw-graph.ts'
import { clusteredVectors, exactTopK } from '../fixtures/vectors.ts'

/** The share of each query's exact top 10 (node numbers) among the graph's first 10 at ef 100. */
async function recallAt10(graph: HnswGraph, queries: Float32Array[], exactOf: (q: Float32Array) => number[]): Promise<number> {
  let hits = 0
  for (const q of queries) {
    const exact = new Set(exactOf(q))
    const { found } = await graph.search(q, 100, () => true)
    hits += found.slice(0, 10).filter((r) => exact.has(r.node)).length
  }
  return hits / (queries.length * 10)
}

describe('HnswGraph', () => {
  it('finds ≥ 0.95 of the exact top 10 on clustered vectors', async () => {
    const dims = 64
    const data = clusteredVectors(4_000, dims, 40, 1)
    const graph = new HnswGraph(dims)
    for (const v of data) await graph.insert(v)
    const queries = clusteredVectors(100, dims, 40, 2)
    expect(await recallAt10(graph, queries, (q) => exactTopK(data, q, 10))).toBeGreaterThanOrEqual(0.95)
  })

  it('never returns a deleted node or one the filter refuses, and still finds k when they exist', async () => {
    const dims = 16
    const data = clusteredVectors(2_000, dims, 10, 3)
    const graph = new HnswGraph(dims)
    for (const v of data) await graph.insert(v)
    for (let node = 0; node < 2_000; node += 3) graph.remove(node)
    // One node in 50 passes: the walk alone may not reach 10 of them, the caller's scan does.
    const accept = (node: number) => node % 50 === 1
    const q = data[7]!
    const { found, exhausted } = await graph.search(q, 20, accept, 2_000)
    for (const r of found) {
      expect(graph.deleted[r.node]).toBe(0)
      expect(accept(r.node)).toBe(true)
    }
    const scanned = await graph.scan(q, 20, accept)
    expect(scanned.length).toBe(20)
    if (!exhausted) expect(found.length).toBe(20)
    const live = [...Array(2_000).keys()].filter((n) => n % 3 !== 0 && accept(n))
    expect(new Set(scanned.map((r) => r.node))).toEqual(
      new Set(
        exactTopK(
          live.map((n) => data[n]!),
          q,
          20,
        ).map((i) => live[i]!),
      ),
    )
  })

  it('a new node takes 2m links at level 0, its closest node among them', async () => {
    const dims = 16
    const m = 4
    const data = clusteredVectors(600, dims, 6, 12)
    const graph = new HnswGraph(dims, { m, efConstruction: 40, efSearch: 40 })
    for (const [node, v] of data.entries()) {
      await graph.insert(v)
      const links = graph.neighbours(node, 0)
      expect(links.length).toBe(Math.min(2 * m, node))
      // While there are at most efConstruction nodes before it, every one is a candidate.
      if (node > 0 && node <= 40) {
        const closest = exactTopK(data.slice(0, node), v, 1)[0]!
        expect([...links]).toContain(closest)
      }
    }
  })

  it('a deleted node’s place goes to the next insert: under churn the graph keeps as many nodes as were live at once, and still finds the exact top 10', async () => {
    const dims = 64
    const pool = clusteredVectors(6_000, dims, 40, 21)
    const queries = clusteredVectors(100, dims, 40, 22)
    const graph = new HnswGraph(dims)
    /** Node → the pool index of the vector it holds now. */
    const holds = new Map<number, number>()
    let next = 0
    const put = async () => {
      const place = graph.takeFree()
      const node = await graph.insert(pool[next]!, place)
      if (place !== undefined) expect(node).toBe(place)
      holds.set(node, next++)
    }
    for (let i = 0; i < 2_000; i++) await put()
    for (let round = 0; round < 4; round++) {
      // Half the nodes deleted, scattered: every region loses waypoints at once.
      const gone = [...holds.keys()].filter((node) => (node * 7 + round * 3) % 10 < 5)
      for (const node of gone) {
        graph.remove(node)
        holds.delete(node)
      }
      for (const r of (await graph.search(queries[round]!, 100, () => true)).found) expect(graph.deleted[r.node]).toBe(0)
      for (let i = 0; i < gone.length; i++) await put()
      expect(graph.count).toBe(2_000)
      expect(graph.live).toBe(2_000)
      expect(graph.takeFree()).toBeUndefined()
    }
    expect(next).toBeGreaterThan(4_000)
    const live = [...holds]
    const exactOf = (q: Float32Array) =>
      exactTopK(
        live.map(([, i]) => pool[i]!),
        q,
        10,
      ).map((j) => live[j]![0])
    expect(await recallAt10(graph, queries, exactOf)).toBeGreaterThanOrEqual(0.95)
  })

  it('refuses a place that is not a deleted node’s, and a restored graph reuses the places its state had free', async () => {
    const dims = 16
    const data = clusteredVectors(300, dims, 4, 23)
    const graph = new HnswGraph(dims)
    for (const v of data) await graph.insert(v)
    expect(() => graph.insert(data[0]!, 5)).toThrow(/not a deleted node/)
    expect(() => graph.insert(data[0]!, 300)).toThrow(/not a deleted node/)
    graph.remove(5)
    graph.remove(9)
    const restored = HnswGraph.restore(structuredClone(await graph.state()))
    const places = [restored.takeFree(), restored.takeFree()]
    expect(places.sort((a, b) => a! - b!)).toEqual([5, 9])
    expect(restored.takeFree()).toBeUndefined()
    expect(await restored.insert(data[5]!, places[0])).toBe(5)
    expect(restored.count).toBe(300)
    expect(restored.deleted[5]).toBe(0)
    expect((await restored.search(data[5]!, 10, () => true)).found[0]!.node).toBe(5)
  })

  it('scores are cosine similarities within the int8 codes’ error', async () => {
    const dims = 32
    const data = clusteredVectors(50, dims, 5, 4)
    const graph = new HnswGraph(dims)
    for (const v of data) await graph.insert(v)
    const q = normalised(data[3]!)
    for (let node = 0; node < 50; node++) {
      const exact = dot(q, normalised(data[node]!))
      expect(Math.abs(graph.simTo(q, node) - exact)).toBeLessThan(0.02)
    }
  })

  it('restores from its state to the same answers', async () => {
    const dims = 16
    const data = clusteredVectors(500, dims, 5, 5)
    const graph = new HnswGraph(dims)
    for (const v of data) await graph.insert(v)
    graph.remove(10)
    const copy = HnswGraph.restore(structuredClone(await graph.state()))
    expect(copy.live).toBe(499)
    const q = data[42]!
    expect((await copy.search(q, 30, () => true)).found).toEqual((await graph.search(q, 30, () => true)).found)
    await copy.insert(data[0]!)
    expect(copy.count).toBe(501)
  })
})

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

describe('HnswGraph with its codes paged', () => {
  const dims = 32
  const params = { m: 8, efConstruction: 40, efSearch: 50 }
  const floor = 2 * (params.efConstruction + 2 * params.m + 2)

  /** A source of the data's codes, counting what it is asked for. */
  function sourceOf(data: Float32Array[]) {
    const asked: number[] = []
    const codes = data.map((v) => {
      const code = new Int8Array(dims)
      quantise(normalised(v), code)
      return code
    })
    return {
      asked,
      source: async (nodes: readonly number[]) => {
        asked.push(...nodes)
        return nodes.map((n) => codes[n])
      },
    }
  }

  it('builds the same graph and finds the same nodes as one with every code in memory, keeping at most its limit', async () => {
    const data = clusteredVectors(2_000, dims, 20, 11)
    const whole = new HnswGraph(dims, params)
    const { asked, source } = sourceOf(data)
    const paged = new HnswGraph(dims, params, undefined, { limit: 10, source })
    for (const v of data) {
      await whole.insert(v)
      await paged.insert(v)
    }
    expect(asked.length).toBeGreaterThan(2_000)
    expect(paged.residentLive).toBe(floor)
    expect(whole.residentLive).toBe(2_000)
    expect(paged.residentBytes).toBeLessThan(whole.residentBytes - (2_000 - floor) * dims * 0.9)
    const residentAfterBuild = paged.residentBytes
    expect(paged.links0).toEqual(whole.links0)
    expect(paged.degree0).toEqual(whole.degree0)
    expect(paged.scales).toEqual(whole.scales)
    for (const q of clusteredVectors(30, dims, 20, 12)) {
      expect((await paged.search(q, 50, () => true)).found).toEqual((await whole.search(q, 50, () => true)).found)
      expect(await paged.scan(q, 10, (n) => n % 7 === 0)).toEqual(await whole.scan(q, 10, (n) => n % 7 === 0))
    }
    // Its saved state is the whole graph's, codes read back where they are not in memory.
    expect(await paged.state()).toEqual(await whole.state())
    // Passes over every node (the state, exact scans) kept to the limit too.
    expect(paged.residentBytes).toBe(residentAfterBuild)
  })

  it('restores under a limit with the top levels in memory, and answers as before', async () => {
    const data = clusteredVectors(1_000, dims, 10, 13)
    const whole = new HnswGraph(dims, params)
    for (const v of data) await whole.insert(v)
    const { asked, source } = sourceOf(data)
    const restored = HnswGraph.restore(structuredClone(await whole.state()), { limit: floor, source })
    expect(restored.residentLive).toBe(floor)
    expect(asked).toEqual([])
    const q = data[17]!
    expect((await restored.search(q, 50, () => true)).found).toEqual((await whole.search(q, 50, () => true)).found)
  })

  it('walks issued together run one at a time: inserts and searches not awaited give what one by one gives', async () => {
    const data = clusteredVectors(800, dims, 8, 14)
    const queries = clusteredVectors(10, dims, 8, 15)
    const one = new HnswGraph(dims, params, undefined, { limit: 1, source: sourceOf(data).source })
    const together = new HnswGraph(dims, params, undefined, { limit: 1, source: sourceOf(data).source })
    const expected = []
    for (let i = 0; i < 800; i++) {
      await one.insert(data[i]!)
      if (i % 80 === 79) expected.push((await one.search(queries[Math.floor(i / 80)]!, 20, () => true)).found)
    }
    const issued: Array<Promise<unknown> | unknown> = []
    const found: unknown[] = []
    for (let i = 0; i < 800; i++) {
      issued.push(together.insert(data[i]!))
      if (i % 80 === 79) issued.push(Promise.resolve(together.search(queries[Math.floor(i / 80)]!, 20, () => true)).then((r) => found.push(r.found)))
    }
    await Promise.all(issued)
    expect(found).toEqual(expected)
    expect(together.links0).toEqual(one.links0)
  })

  it('limitCodes, issued together with inserts and searches: the codes it keeps are the limit, everything is persisted first, and the graph builds and finds what a whole one does', async () => {
    const data = clusteredVectors(1_200, dims, 12, 16)
    const queries = clusteredVectors(8, dims, 12, 17)
    const whole = new HnswGraph(dims, params)
    const { asked, source } = sourceOf(data)
    const graph = new HnswGraph(dims, params, undefined, { source })
    for (const v of data.slice(0, 600)) {
      await whole.insert(v)
      await graph.insert(v)
    }
    // A persist that fails: nothing changes.
    await expect(graph.limitCodes(200, async () => Promise.reject(new Error('disk full')))).rejects.toThrow('disk full')
    expect(graph.codesBounded).toBe(false)
    expect(graph.residentLive).toBe(600)
    const persisted = new Map<number, Int8Array>()
    const issued: unknown[] = []
    const found: unknown[] = []
    for (let i = 600; i < 1_200; i++) {
      // Paged while inserts and searches are in flight: they wait for it, and it for them.
      if (i === 700) issued.push(graph.limitCodes(200, async (nodes, codes) => nodes.forEach((node, j) => persisted.set(node, codes[j]!.slice()))))
      issued.push(graph.insert(data[i]!))
      if (i % 150 === 0) issued.push(Promise.resolve(graph.search(queries[i % 8]!, 20, () => true)).then((r) => found.push(r.found)))
    }
    await Promise.all(issued)
    const expected = []
    for (let i = 600; i < 1_200; i++) {
      await whole.insert(data[i]!)
      if (i % 150 === 0) expected.push((await whole.search(queries[i % 8]!, 20, () => true)).found)
    }
    expect(found).toEqual(expected)
    expect(graph.links0).toEqual(whole.links0)
    expect(graph.codesBounded).toBe(true)
    expect(graph.codeLimit).toBe(200)
    expect(graph.residentLive).toBe(200)
    // Every code in memory at the time (the first 700 nodes'), as the whole graph has it.
    expect(persisted.size).toBe(700)
    const state = await whole.state()
    for (const [node, code] of persisted) expect(code).toEqual(state.codes.subarray(node * dims, (node + 1) * dims))
    // A higher limit: codes come back as walks reach them, none evicted meanwhile.
    asked.length = 0
    await graph.limitCodes(5_000, async () => undefined)
    for (const q of queries) await graph.scan(q, 10, () => true)
    expect(graph.residentLive).toBe(1_200)
    for (const q of queries) expect((await graph.search(q, 50, () => true)).found).toEqual((await whole.search(q, 50, () => true)).found)
    expect(asked.length).toBe(1_000)
  })

  it('a walk whose codes fail to load rejects, and the graph serves the next walk', async () => {
    const data = clusteredVectors(400, dims, 8, 16)
    const { source } = sourceOf(data)
    let failing = false
    const graph = new HnswGraph(dims, params, undefined, {
      limit: 1,
      source: async (nodes) => {
        if (failing) throw new Error('disk gone')
        return source(nodes)
      },
    })
    const whole = new HnswGraph(dims, params)
    for (const v of data) {
      await graph.insert(v)
      await whole.insert(v)
    }
    failing = true
    await expect(Promise.resolve(graph.search(data[3]!, 20, () => true))).rejects.toThrow('disk gone')
    failing = false
    expect((await graph.search(data[3]!, 20, () => true)).found).toEqual((await whole.search(data[3]!, 20, () => true)).found)
  })

  it('takes deleted nodes’ places as one with every code in memory does, and a replacement whose walk fails leaves its place deleted and free', async () => {
    const pool = clusteredVectors(1_600, dims, 12, 24)
    /** Node → the vector it holds now: the source answers with its current code. */
    const holds: Float32Array[] = []
    let failing = false
    const paged = new HnswGraph(dims, params, undefined, {
      limit: 10,
      source: async (nodes) => {
        if (failing) throw new Error('disk gone')
        return nodes.map((n) => {
          const code = new Int8Array(dims)
          quantise(normalised(holds[n]!), code)
          return code
        })
      },
    })
    const whole = new HnswGraph(dims, params)
    for (let i = 0; i < 800; i++) {
      holds[i] = pool[i]!
      await paged.insert(pool[i]!)
      await whole.insert(pool[i]!)
    }
    for (let i = 800; i < 1_600; i++) {
      const gone = (i * 37) % 800
      if (!paged.deleted[gone]) {
        paged.remove(gone)
        whole.remove(gone)
      }
      const place = paged.takeFree()
      expect(whole.takeFree()).toBe(place)
      if (place !== undefined) holds[place] = pool[i]!
      await paged.insert(pool[i]!, place)
      await whole.insert(pool[i]!, place)
    }
    expect(paged.count).toBe(whole.count)
    expect(paged.links0).toEqual(whole.links0)
    expect(paged.degree0).toEqual(whole.degree0)
    for (const q of clusteredVectors(20, dims, 12, 25))
      expect((await paged.search(q, 30, () => true)).found).toEqual((await whole.search(q, 30, () => true)).found)
    // A replacement whose codes cannot be read: it rejects, and its place is deleted and free for the next.
    const victim = paged.count - 1
    paged.remove(victim)
    const place = paged.takeFree()
    expect(place).toBe(victim)
    failing = true
    await expect(Promise.resolve(paged.insert(pool[0]!, place))).rejects.toThrow('disk gone')
    failing = false
    expect(paged.deleted[victim]).toBe(1)
    expect(paged.takeFree()).toBe(victim)
  })

  it('refuses a limit without a source', () => {
    expect(() => new HnswGraph(dims, params, undefined, { limit: 10 })).toThrow(/CodeSource/)
  })
})

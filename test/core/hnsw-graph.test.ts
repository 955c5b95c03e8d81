import { describe, expect, it } from 'vitest'
import { HnswGraph, normalised } from '../../src/core/recall/hnsw-graph.ts'
import { clusteredVectors, exactTopK } from '../fixtures/vectors.ts'

describe('HnswGraph', () => {
  it('finds ≥ 0.95 of the exact top 10 on clustered vectors', () => {
    const dims = 64
    const data = clusteredVectors(4_000, dims, 40, 1)
    const graph = new HnswGraph(dims)
    for (const v of data) graph.insert(v)
    const queries = clusteredVectors(100, dims, 40, 2)
    let hits = 0
    for (const q of queries) {
      const exact = new Set(exactTopK(data, q, 10))
      const { found } = graph.search(q, 100, () => true)
      hits += found.slice(0, 10).filter((r) => exact.has(r.node)).length
    }
    expect(hits / (queries.length * 10)).toBeGreaterThanOrEqual(0.95)
  })

  it('never returns a deleted node or one the filter refuses, and still finds k when they exist', () => {
    const dims = 16
    const data = clusteredVectors(2_000, dims, 10, 3)
    const graph = new HnswGraph(dims)
    for (const v of data) graph.insert(v)
    for (let node = 0; node < 2_000; node += 3) graph.remove(node)
    // One node in 50 passes: the walk alone may not reach 10 of them, the caller's scan does.
    const accept = (node: number) => node % 50 === 1
    const q = data[7]!
    const { found, exhausted } = graph.search(q, 20, accept, 2_000)
    for (const r of found) {
      expect(graph.deleted[r.node]).toBe(0)
      expect(accept(r.node)).toBe(true)
    }
    const scanned = graph.scan(q, 20, accept)
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

  it('scores are cosine similarities within the int8 codes’ error', () => {
    const dims = 32
    const data = clusteredVectors(50, dims, 5, 4)
    const graph = new HnswGraph(dims)
    for (const v of data) graph.insert(v)
    const q = normalised(data[3]!)
    for (let node = 0; node < 50; node++) {
      const exact = dot(q, normalised(data[node]!))
      expect(Math.abs(graph.simTo(q, node) - exact)).toBeLessThan(0.02)
    }
  })

  it('restores from its state to the same answers', () => {
    const dims = 16
    const data = clusteredVectors(500, dims, 5, 5)
    const graph = new HnswGraph(dims)
    for (const v of data) graph.insert(v)
    graph.remove(10)
    const copy = HnswGraph.restore(structuredClone(graph.state()))
    expect(copy.live).toBe(499)
    const q = data[42]!
    expect(copy.search(q, 30, () => true).found).toEqual(graph.search(q, 30, () => true).found)
    copy.insert(data[0]!)
    expect(copy.count).toBe(501)
  })
})

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

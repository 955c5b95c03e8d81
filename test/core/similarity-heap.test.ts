import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SimilarityHeap } from '../../src/core/recall/similarity-heap.ts'

const pairs = fc.array(fc.tuple(fc.nat(1_000_000), fc.double({ min: -1, max: 1, noNaN: true })), { maxLength: 300 })

/** The pairs best first, as a sort would give them (node order breaks no tie: only the similarities are compared). */
const bestFirst = (xs: Array<[number, number]>) => xs.map(([, sim]) => sim).sort((a, b) => b - a)

describe('SimilarityHeap', () => {
  it('drains every pair best first, from either end, past its first room of 64', () => {
    fc.assert(
      fc.property(pairs, fc.boolean(), (xs, best) => {
        const heap = new SimilarityHeap(best)
        for (const [node, sim] of xs) heap.push(node, sim)
        expect(heap.size).toBe(xs.length)
        const out = heap.drainBestFirst()
        expect(out.map((p) => p.sim)).toEqual(bestFirst(xs))
        // Each node comes back with its own similarity.
        const simsOf = new Map<number, number[]>()
        for (const [node, sim] of xs) simsOf.set(node, [...(simsOf.get(node) ?? []), sim])
        for (const { node, sim } of out) expect(simsOf.get(node)).toContain(sim)
        expect(heap.size).toBe(0)
      }),
    )
  })

  it('drains only the best `limit`, and is empty after', () => {
    fc.assert(
      fc.property(pairs, fc.boolean(), fc.nat(40), (xs, best, limit) => {
        const heap = new SimilarityHeap(best)
        for (const [node, sim] of xs) heap.push(node, sim)
        expect(heap.drainBestFirst(limit).map((p) => p.sim)).toEqual(bestFirst(xs).slice(0, limit))
        expect(heap.size).toBe(0)
        // Reused after a drain (a graph walk keeps its heaps): nothing of the last use is left.
        heap.push(7, 0.5)
        expect(heap.drainBestFirst()).toEqual([{ node: 7, sim: 0.5 }])
      }),
    )
  })

  it('keeps the top right through pops, and a pop of an empty heap does nothing', () => {
    const heap = new SimilarityHeap(false)
    heap.pop()
    expect(heap.size).toBe(0)
    for (const [node, sim] of [
      [1, 0.3],
      [2, -0.2],
      [3, 0.9],
      [4, 0.1],
    ] as const)
      heap.push(node, sim)
    expect([heap.topNode, heap.topSim]).toEqual([2, -0.2])
    heap.pop()
    expect([heap.topNode, heap.topSim]).toEqual([4, 0.1])
    expect(heap.clear().size).toBe(0)
  })
})

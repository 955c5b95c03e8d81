import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SimilarityHeap } from '../../src/core/recall/similarity-heap.ts'

const pairs = fc.array(fc.tuple(fc.nat(1_000_000), fc.double({ min: -1, max: 1, noNaN: true })), { maxLength: 300 })

/**
 * The pairs best first, as a sort would give them (node order breaks no tie: only the similarities are compared).
 * -0 and 0 are one similarity, tied, so either may come first: both sides are read with -0 as 0 (`+ 0`).
 */
const bestFirst = (xs: Array<[number, number]>) => xs.map(([, sim]) => sim + 0).sort((a, b) => b - a)
const simsOf = (out: Array<{ sim: number }>) => out.map((p) => p.sim + 0)

describe('SimilarityHeap', () => {
  it('drains every pair best first, from either end, past its first room of 64', () => {
    fc.assert(
      fc.property(pairs, fc.boolean(), (xs, best) => {
        const heap = new SimilarityHeap(best)
        for (const [node, sim] of xs) heap.push(node, sim)
        expect(heap.size).toBe(xs.length)
        const out = heap.drainBestFirst()
        expect(simsOf(out)).toEqual(bestFirst(xs))
        // Each node comes back with its own similarity.
        const simsByNode = new Map<number, number[]>()
        for (const [node, sim] of xs) simsByNode.set(node, [...(simsByNode.get(node) ?? []), sim])
        for (const { node, sim } of out) expect(simsByNode.get(node)).toContain(sim)
        expect(heap.size).toBe(0)
      }),
    )
  })

  it('drains only the best `limit`, and is empty after', () => {
    fc.assert(
      fc.property(pairs, fc.boolean(), fc.nat(40), (xs, best, limit) => {
        const heap = new SimilarityHeap(best)
        for (const [node, sim] of xs) heap.push(node, sim)
        expect(simsOf(heap.drainBestFirst(limit))).toEqual(bestFirst(xs).slice(0, limit))
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

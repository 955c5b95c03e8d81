import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { codeSpace, queryStep } from '../../src/core/recall/code-space.ts'

describe('the index code space', () => {
  it('wasm SIMD and plain loops give the same dot products, bit for bit', () => {
    const dims = 48
    const simd = codeSpace(dims, 4 * dims)
    const plain = codeSpace(dims, 4 * dims, false)
    // 50 is not a multiple of 16: the plain loops whatever is asked.
    expect(codeSpace(dims + 2, 4 * (dims + 2)).codes.byteOffset).toBe(0)
    // The SIMD space keeps its codes in wasm memory, after the query's 64 KiB; the plain one in its own array.
    expect(simd.codes.byteOffset).toBe(65_536)
    expect(plain.codes.byteOffset).toBe(0)
    let seed = 7
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) >>> 0) / 2 ** 32) * 2 - 1
    for (let i = 0; i < 4 * dims; i++) simd.codes[i] = plain.codes[i] = Math.round(random() * 127)
    const q = Float32Array.from({ length: dims }, random)
    simd.setQuery(q)
    plain.setQuery(q)
    const step = queryStep(q)
    for (let node = 0; node < 4; node++) {
      let want = 0
      let l1 = 0
      for (let i = 0; i < dims; i++) {
        want += q[i]! * simd.codes[node * dims + i]!
        l1 += Math.abs(simd.codes[node * dims + i]!)
      }
      expect(simd.dotQuery(node * dims)).toBe(plain.dotQuery(node * dims))
      // Off the float product by the query's rounding at most: half a step per code unit.
      expect(Math.abs(simd.dotQuery(node * dims) - want)).toBeLessThanOrEqual(0.5 * step * l1 + 1e-9)
      let wantCodes = 0
      for (let i = 0; i < dims; i++) wantCodes += simd.codes[i]! * simd.codes[node * dims + i]!
      expect(simd.dotCodes(0, node * dims)).toBe(wantCodes)
      expect(plain.dotCodes(0, node * dims)).toBe(wantCodes)
    }
    // Growing keeps the codes (the wasm memory's buffer is replaced).
    const before = simd.codes.slice()
    simd.grow(1_000_000)
    expect(simd.codes.subarray(0, before.length)).toEqual(before)
    expect(simd.dotCodes(0, dims)).toBe([...before.subarray(0, dims)].reduce((s, x, i) => s + x * before[dims + i]!, 0))
  })

  it('a list of codes scored in one call gives each its own dotQuery, four at a time and the rest one by one', () => {
    const dims = 64
    const nodes = 40
    const simd = codeSpace(dims, nodes * dims)
    const plain = codeSpace(dims, nodes * dims, false)
    let seed = 11
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) >>> 0) / 2 ** 32) * 2 - 1
    for (let i = 0; i < nodes * dims; i++) simd.codes[i] = plain.codes[i] = Math.round(random() * 127)
    const q = Float32Array.from({ length: dims }, random)
    simd.setQuery(q)
    plain.setQuery(q)
    // Every count from none to a few quads and a tail, over nodes in a scattered order (repeats too).
    for (let count = 0; count <= 11; count++) {
      const offsets = Array.from({ length: count }, (_, i) => ((i * 17 + count * 5) % nodes) * dims)
      for (const space of [simd, plain]) {
        const out = new Float64Array(count + 1).fill(Number.NaN)
        space.list.set(offsets)
        space.dotQueryList(count, out)
        expect([...out.subarray(0, count)]).toEqual(offsets.map((at) => simd.dotQuery(at)))
        // Nothing past count is written.
        expect(out[count]).toBeNaN()
      }
    }
    // After growing, the list is a view of the new memory and still scores.
    simd.grow(1_000_000)
    simd.list.set([dims, 0])
    const out = new Float64Array(2)
    simd.dotQueryList(2, out)
    expect([...out]).toEqual([plain.dotQuery(dims), plain.dotQuery(0)])
  })

  it('a product of the widest codes at full scale stays exact: the query steps leave int32 no room to overflow', () => {
    // Every component the same size: the codes and the query all at their largest, a sum of dims maximal products.
    for (const dims of [384, 1536, 4096]) {
      const simd = codeSpace(dims, dims)
      const plain = codeSpace(dims, dims, false)
      simd.codes.fill(127)
      plain.codes.fill(127)
      const q = new Float32Array(dims).fill(1 / Math.sqrt(dims))
      simd.setQuery(q)
      plain.setQuery(q)
      // The code of a unit vector times its scale (max|v| / 127) is its cosine with q: 1.
      const cosine = (space: typeof simd) => space.dotQuery(0) * (1 / Math.sqrt(dims) / 127)
      expect(cosine(simd)).toBeCloseTo(1, 6)
      expect(cosine(plain)).toBe(cosine(simd))
    }
  })

  it('the committed wasm bytes are dot-simd.wat assembled', () => {
    expect(() => execFileSync('node', ['scripts/build-wasm.mjs', '--check'], { stdio: 'pipe' })).not.toThrow()
  })
})

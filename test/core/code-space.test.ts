import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { codeSpace } from '../../src/core/recall/code-space.ts'

describe('the index code space', () => {
  it('wasm SIMD and plain loops give the same dot products', () => {
    const dims = 48
    const simd = codeSpace(dims, 4 * dims)
    // 50 is not a multiple of 16: the plain loops.
    const plain = codeSpace(dims + 2, 4 * (dims + 2))
    // The SIMD space keeps its codes in wasm memory, after the query's 64 KiB; the plain one in its own array.
    expect(simd.codes.byteOffset).toBe(65_536)
    expect(plain.codes.byteOffset).toBe(0)
    let seed = 7
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) >>> 0) / 2 ** 32) * 2 - 1
    for (let i = 0; i < 4 * dims; i++) simd.codes[i] = Math.round(random() * 127)
    const q = Float32Array.from({ length: dims }, random)
    simd.setQuery(q)
    for (let node = 0; node < 4; node++) {
      let want = 0
      for (let i = 0; i < dims; i++) want += q[i]! * simd.codes[node * dims + i]!
      expect(simd.dotQuery(node * dims)).toBeCloseTo(want, 3)
      let wantCodes = 0
      for (let i = 0; i < dims; i++) wantCodes += simd.codes[i]! * simd.codes[node * dims + i]!
      expect(simd.dotCodes(0, node * dims)).toBe(wantCodes)
    }
    // Growing keeps the codes (the wasm memory's buffer is replaced).
    const before = simd.codes.slice()
    simd.grow(1_000_000)
    expect(simd.codes.subarray(0, before.length)).toEqual(before)
    expect(simd.dotCodes(0, dims)).toBe([...before.subarray(0, dims)].reduce((s, x, i) => s + x * before[dims + i]!, 0))
  })

  it('the committed wasm bytes are dot-simd.wat assembled', () => {
    expect(() => execFileSync('node', ['scripts/build-wasm.mjs', '--check'], { stdio: 'pipe' })).not.toThrow()
  })
})

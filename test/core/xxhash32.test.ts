import fc from 'fast-check'
import { xxHash32 as reference } from 'js-xxhash'
import { describe, expect, it } from 'vitest'
import { xxHash32 } from '../../src/core/persistence/xxhash32.ts'

// Every hash tiermem has written (content hashes, block and record checksums) was made by
// js-xxhash: the replacement must give the same number for every input, or stored data would
// read as damaged.
describe('xxHash32', () => {
  const seeds = [0, 1, 0x9e3779b1, 0x85ebca77, 0xffffffff]

  it('equals js-xxhash at every length up to 4,200 (both lane readers, every tail) and every seed tried', () => {
    for (let length = 0; length <= 4200; length++) {
      const bytes = new Uint8Array(length).map((_, i) => (i * 131 + length * 7) & 255)
      for (const seed of seeds) expect(xxHash32(bytes, seed)).toBe(reference(bytes, seed) >>> 0)
    }
  })

  it('equals js-xxhash on views at any offset into a larger buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.nat(7), fc.nat(0xffffffff), (bytes, offset, seed) => {
        const buffer = new Uint8Array(bytes.length + offset + 3).fill(0xaa)
        buffer.set(bytes, offset)
        const view = buffer.subarray(offset, offset + bytes.length)
        expect(xxHash32(view, seed)).toBe(reference(bytes, seed) >>> 0)
      }),
      { numRuns: 300 },
    )
  })

  it('gives the published value for the empty input', () => {
    expect(xxHash32(new Uint8Array(0), 0)).toBe(0x02cc5d05)
  })
})

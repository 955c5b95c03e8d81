import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { utf8Into } from '../../src/core/persistence/utf8-into.ts'

describe('utf8Into', () => {
  it('writes what TextEncoder writes, at any offset, ASCII or not, and says how many bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.nat(8), (text, at) => {
        const expected = new TextEncoder().encode(text)
        const out = new Uint8Array(at + 3 * text.length).fill(0xaa)
        const written = utf8Into(text, out, at)
        expect(written).toBe(expected.length)
        expect(out.subarray(at, at + written)).toEqual(expected)
        // Nothing before the offset is touched.
        expect([...out.subarray(0, at)].every((b) => b === 0xaa)).toBe(true)
      }),
    )
    // Non-ASCII after ASCII: the ASCII already copied is written again, the same.
    const out = new Uint8Array(32)
    expect(utf8Into('abc é 😀', out, 2)).toBe(new TextEncoder().encode('abc é 😀').length)
    expect(new TextDecoder().decode(out.subarray(2, 2 + 11))).toBe('abc é 😀')
  })
})

import fc from 'fast-check'
import { expect, it } from 'vitest'
import { escapeKey, unescapeKey } from '../../src/edge/cloudflare/r2-store.ts'

// R2 lists object names in order; the store's scans and their `after` / `before` rely on the
// escape keeping the keys' order, and on it being undone exactly.
it('the R2 key escape round-trips and keeps the order of keys, NULs and all', () => {
  const key = fc.string({ unit: fc.constantFrom('\u0000', '\u0001', '\u0002', '\u0003', 'a', 'b', '0', '1', '2', '/', 'é'), maxLength: 8 })
  fc.assert(
    fc.property(key, key, (a, b) => {
      expect(unescapeKey(escapeKey(a))).toBe(a)
      expect(escapeKey(a) < escapeKey(b)).toBe(a < b)
      expect(escapeKey(a) === escapeKey(b)).toBe(a === b)
    }),
    { numRuns: 2000 },
  )
})

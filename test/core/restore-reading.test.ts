import { describe, expect, it } from 'vitest'
import { readAhead } from '../../src/core/backup/read-ahead.ts'
import { inflateChecked } from '../../src/core/backup/inflate-checked.ts'
import { sha256Hex } from '../../src/core/backup/sha256-hex.ts'
import { deflateSync } from 'fflate'

describe('readAhead', () => {
  it('yields every read in order, with the next one under way while the caller works on the current', async () => {
    const started: number[] = []
    const seen: Array<[number, number[]]> = []
    const release: Array<() => void> = []
    const reads = readAhead([10, 20, 30], (item, index) => {
      started.push(index)
      // Reads finish in the reverse order they start: the order yielded is still the items'.
      return new Promise<number>((resolve) => release.push(() => resolve(item + index)))
    })
    const consuming = (async () => {
      for await (const value of reads) seen.push([value, [...started]])
    })()
    await Promise.resolve()
    for (let round = 0; round < 3; round++) {
      await new Promise((resolve) => setTimeout(resolve, 1))
      release
        .splice(0)
        .reverse()
        .forEach((go) => go())
    }
    await consuming
    expect(seen.map(([value]) => value)).toEqual([10, 21, 32])
    // When the first is yielded the second has started; when the second is, the third has.
    expect(seen.map(([, s]) => s.length)).toEqual([2, 3, 3])
  })

  it("surfaces a read's failure in its turn, after the items before it; one started but never reached is left quietly", async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      const got: number[] = []
      const failing = readAhead([1, 2, 3], async (item) => {
        if (item === 2) throw new Error('two is damaged')
        return item
      })
      await expect(
        (async () => {
          for await (const value of failing) got.push(value)
        })(),
      ).rejects.toThrow('two is damaged')
      expect(got).toEqual([1])
      // The caller stops at the first item; the second, already reading, fails unobserved.
      const stopped = readAhead([1, 2], async (item) => {
        if (item === 2) throw new Error('never awaited')
        return item
      })
      for await (const value of stopped) {
        expect(value).toBe(1)
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 10))
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })
})

describe('inflateChecked', () => {
  const raw = new TextEncoder().encode('a record file of a backup, repeated. '.repeat(500))
  const data = () => deflateSync(raw, { level: 6 })

  it('inflates to exactly the size given, with the SHA-256 of what came out', async () => {
    const out = await inflateChecked({ data: data(), size: raw.byteLength })
    expect(out?.bytes).toEqual(raw)
    expect(out?.sha256).toBe(await sha256Hex(raw))
  })

  it('is undefined for a size one short or one over, and for bytes that do not inflate', async () => {
    expect(await inflateChecked({ data: data(), size: raw.byteLength - 1 })).toBeUndefined()
    expect(await inflateChecked({ data: data(), size: raw.byteLength + 1 })).toBeUndefined()
    const damaged = data()
    damaged[2]! ^= 0xff
    damaged[3]! ^= 0x5a
    const truncated = data().subarray(0, 40)
    expect(await inflateChecked({ data: truncated, size: raw.byteLength })).toBeUndefined()
    const outcome = await inflateChecked({ data: damaged, size: raw.byteLength })
    // A flipped byte either fails to inflate or inflates to other bytes: never the original.
    if (outcome) expect(outcome.sha256).not.toBe(await sha256Hex(raw))
  })
})

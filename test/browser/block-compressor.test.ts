import { describe, expect, it } from 'vitest'
import { inlineCompressor, workerCompressor } from '../../src/stores/block-compressor.ts'
import { compressPayload } from '../../src/stores/segment-format.ts'

const text = (n: number) => new TextEncoder().encode(`block ${n}: the user prefers window seats and vegetarian meals. `.repeat(200))
const random = () => crypto.getRandomValues(new Uint8Array(4096))

describe('block compressor', () => {
  it('deflates on its worker exactly as inline, in order, across threads; the raws are handed over, and back', async () => {
    const compressor = workerCompressor(2)
    const raws = [text(1), random(), text(2), text(3), text(4)]
    const copies = raws.map((raw) => raw.slice())
    const expected = copies.map((raw) => compressPayload(raw, 6))
    const results = await compressor.compress(raws, 6, true)
    expect(results.map((r) => r.deflated)).toEqual([true, false, true, true, true])
    expect(results.map(({ payload, deflated }) => ({ payload, deflated }))).toEqual(expected)
    expect(raws[0]!.byteLength).toBe(0) // transferred, not copied
    // Asked back, each raw comes back with its result (the cold store lays later blocks out in it).
    expect(results.map((r) => r.raw)).toEqual(copies)
    // Not asked back (a backup's record files), they stay where they were deflated.
    const others = [text(7), text(8)]
    const kept = await compressor.compress(others, 6)
    expect(kept).toEqual([compressPayload(text(7), 6), compressPayload(text(8), 6)])
    expect(others[0]!.byteLength).toBe(0)
    compressor.close()
  })

  it('a worker that fails to start rejects what is pending with CLOSED and later batches compress inline', async () => {
    const broken = () => new Worker(URL.createObjectURL(new Blob(['throw new Error("no")'], { type: 'text/javascript' })), { type: 'module' })
    const compressor = workerCompressor(1, broken)
    await expect(compressor.compress([text(1)], 6)).rejects.toMatchObject({ code: 'CLOSED' })
    const [later] = await compressor.compress([text(2)], 6, true)
    expect(later).toEqual({ ...compressPayload(text(2), 6), raw: text(2) })
    compressor.close()
  })

  it('inline compression gives the same bytes', async () => {
    const raw = text(5)
    const [result] = await inlineCompressor().compress([raw], 6, true)
    expect(result).toEqual({ ...compressPayload(text(5), 6), raw })
    expect(result!.raw).toBe(raw)
    expect(await inlineCompressor().compress([text(5)], 6)).toEqual([compressPayload(text(5), 6)])
  })
})

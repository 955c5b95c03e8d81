import { describe, expect, it } from 'vitest'
import { inlineCompressor, workerCompressor } from '../../src/stores/block-compressor.ts'
import { compressPayload } from '../../src/stores/segment-format.ts'
import { fileSums } from '../../src/core/backup/file-sums.ts'
import { crc32 } from '../../src/core/backup/crc32.ts'
import { sha256Hex } from '../../src/core/backup/sha256-hex.ts'
import { deflateSync } from 'fflate'

const text = (n: number) => new TextEncoder().encode(`block ${n}: the user prefers window seats and vegetarian meals. `.repeat(200))
const random = () => crypto.getRandomValues(new Uint8Array(4096))

describe('block compressor', () => {
  it('deflates on its worker exactly as inline, in order, across threads; the raws are handed over, and back', async () => {
    const compressor = workerCompressor(2)
    const raws = [text(1), random(), text(2), text(3), text(4)]
    const copies = raws.map((raw) => raw.slice())
    const expected = copies.map((raw) => compressPayload(raw, 6))
    const results = await compressor.compress(raws, 6, { handBack: true })
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

  it('keeps a batch on as many threads as asked (background blocks while reads flow: one), with the same results in order', async () => {
    const posted: number[] = [0, 0]
    const spawned: Worker[] = []
    const spawn = () => {
      const worker = new Worker(new URL('../../src/stores/block-compressor.worker.ts', import.meta.url), { type: 'module' })
      const index = spawned.push(worker) - 1
      const post = worker.postMessage.bind(worker) as (message: unknown, transfer: Transferable[]) => void
      worker.postMessage = ((message: unknown, transfer: Transferable[]) => {
        posted[index]!++
        post(message, transfer)
      }) as Worker['postMessage']
      return worker
    }
    const compressor = workerCompressor(2, spawn)
    const raws = () => [text(1), text(2), text(3), text(4)]
    const expected = raws().map((raw) => compressPayload(raw, 6))
    const one = await compressor.compress(raws(), 6, {}, 1)
    expect(one).toEqual(expected)
    expect(posted).toEqual([1, 0])
    const both = await compressor.compress(raws(), 6)
    expect(both).toEqual(expected)
    expect(posted).toEqual([2, 1])
    compressor.close()
  })

  it('a worker that fails to start rejects what is pending with CLOSED and later batches compress inline', async () => {
    const broken = () => new Worker(URL.createObjectURL(new Blob(['throw new Error("no")'], { type: 'text/javascript' })), { type: 'module' })
    const compressor = workerCompressor(1, broken)
    await expect(compressor.compress([text(1)], 6)).rejects.toMatchObject({ code: 'CLOSED' })
    const [later] = await compressor.compress([text(2)], 6, { handBack: true })
    expect(later).toEqual({ ...compressPayload(text(2), 6), raw: text(2) })
    compressor.close()
  })

  it('gives the sums of each raw, made where it was deflated, when asked (a backup hashes its files there)', async () => {
    const raws = [text(9), random()]
    const expected = await Promise.all(raws.map((raw) => fileSums(raw.slice())))
    const compressor = workerCompressor(2)
    const results = await compressor.compress(
      raws.map((raw) => raw.slice()),
      6,
      { sums: true },
    )
    compressor.close()
    expect(results.map((r) => r.sums)).toEqual(expected)
    // The zip's CRC-32 and the manifest's SHA-256 of the bytes as given, not as deflated.
    expect(expected[0]!.crc32).toBe(crc32(raws[0]!))
    expect(expected[0]!.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect((await inlineCompressor().compress([raws[1]!.slice()], 6, { sums: true }))[0]!.sums).toEqual(expected[1])
    // Not asked, none are made.
    expect((await inlineCompressor().compress([text(9)], 6))[0]!.sums).toBeUndefined()
  })

  it("inflates a restore's record files on its workers, in order, with each one's SHA-256; a payload of another size comes back undefined", async () => {
    const raws = [text(11), text(12), random(), text(13)]
    // The third's size misstated by one: it must not inflate to a size other than the one named.
    const payloadsOf = () => raws.map((raw, i) => ({ data: deflateSync(raw, { level: 6 }), size: raw.byteLength + (i === 2 ? 1 : 0) }))
    const first = payloadsOf()
    const given = first[0]!.data
    const compressor = workerCompressor(2)
    // Twice: a worker answers one call after another.
    for (const payloads of [first, payloadsOf()]) {
      const results = await compressor.inflate(payloads)
      expect(results.map((r) => r?.bytes)).toEqual([raws[0], raws[1], undefined, raws[3]])
      expect(results.map((r) => r?.sha256)).toEqual([await sha256Hex(raws[0]!), await sha256Hex(raws[1]!), undefined, await sha256Hex(raws[3]!)])
    }
    expect(given.byteLength).toBe(0) // transferred, not copied
    compressor.close()
    // Inline, the same.
    const inline = await inlineCompressor().inflate([{ data: deflateSync(raws[1]!, { level: 6 }), size: raws[1]!.byteLength }])
    expect(inline[0]?.bytes).toEqual(raws[1])
  })

  it('inline compression gives the same bytes', async () => {
    const raw = text(5)
    const [result] = await inlineCompressor().compress([raw], 6, { handBack: true })
    expect(result).toEqual({ ...compressPayload(text(5), 6), raw })
    expect(result!.raw).toBe(raw)
    expect(await inlineCompressor().compress([text(5)], 6)).toEqual([compressPayload(text(5), 6)])
  })
})

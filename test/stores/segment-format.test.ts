import { deflateSync, inflateSync } from 'fflate'
import { describe, expect, it } from 'vitest'
import { buildCorpus } from '../../bench/corpus.ts'
import { encodeValue } from '../../src/core/codec.ts'
import { COLD_DEFLATE_MEM, compressPayload } from '../../src/stores/segment-format.ts'

/** 64 KiB blocks of encoded chat records, laid out as the cold store lays them out. */
function chatBlocks(): Uint8Array[] {
  const blocks: Uint8Array[] = []
  let parts: Uint8Array[] = []
  let bytes = 0
  for (const record of buildCorpus(800)) {
    const encoded = encodeValue(record)
    parts.push(encoded)
    bytes += encoded.byteLength
    if (bytes < 64 * 1024) continue
    const block = new Uint8Array(bytes)
    let at = 0
    for (const part of parts) (block.set(part, at), (at += part.byteLength))
    blocks.push(block)
    parts = []
    bytes = 0
  }
  return blocks
}

describe('cold block payloads', () => {
  const blocks = chatBlocks()

  it('deflate chat blocks to what inflates back exactly', () => {
    expect(blocks.length).toBeGreaterThan(10)
    for (const block of blocks) {
      const { payload, deflated } = compressPayload(block, 6)
      expect(deflated).toBe(true)
      const inflated = inflateSync(payload, { out: new Uint8Array(block.byteLength) })
      // Buffer.equals: toEqual walks 64 KiB element by element (seconds for the whole set).
      expect(Buffer.from(inflated).equals(block)).toBe(true)
    }
  })

  it(`with the small hash table (mem ${COLD_DEFLATE_MEM}) store no more than 0.5 % over fflate's defaults`, () => {
    let ours = 0
    let defaults = 0
    for (const block of blocks) {
      ours += compressPayload(block, 6).payload.byteLength
      defaults += deflateSync(block, { level: 6 }).byteLength
    }
    expect(ours / defaults).toBeLessThan(1.005)
  })

  it('store a block that does not shrink by 5 % as it is', () => {
    // xorshift32: bytes deflate cannot shrink, the same every run.
    const noise = new Uint8Array(4096)
    let x = 0x9e3779b9
    for (let i = 0; i < noise.length; i++) {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      noise[i] = x & 0xff
    }
    const { payload, deflated } = compressPayload(noise, 6)
    expect(deflated).toBe(false)
    expect(payload).toBe(noise)
  })
})

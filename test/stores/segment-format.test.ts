import { deflateSync, inflateSync } from 'fflate'
import { describe, expect, it } from 'vitest'
import { buildCorpus } from '../../bench/corpus.ts'
import { encodeValue } from '../../src/core/persistence/codec.ts'
import { COLD_DEFLATE_MEM, compressPayload, KIND_PUT, layoutBlock } from '../../src/stores/segment-format.ts'

/** Blocks of encoded chat records of about 64 KiB, laid out by the cold store's own layoutBlock. */
function chatBlocks(): Uint8Array[] {
  const blocks: Uint8Array[] = []
  let entries: Array<{ kind: typeof KIND_PUT; key: string; value: Uint8Array }> = []
  let bytes = 0
  for (const record of buildCorpus(800)) {
    const value = encodeValue(record)
    entries.push({ kind: KIND_PUT, key: record.id, value })
    bytes += value.byteLength
    if (bytes < 64 * 1024) continue
    blocks.push(layoutBlock(entries).raw)
    entries = []
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

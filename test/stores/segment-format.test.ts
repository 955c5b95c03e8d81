import { deflateSync, inflateSync } from 'fflate'
import { describe, expect, it } from 'vitest'
import { buildCorpus } from '../../bench/corpus.ts'
import { encodeValue } from '../../src/core/persistence/codec.ts'
import { formatOneBlock } from '../fixtures/format-one-block.ts'
import {
  BLOCK_HEADER_BYTES,
  blockPayload,
  COLD_DEFLATE_MEM,
  compressPayload,
  KIND_DELETE,
  KIND_PUT,
  layoutBlock,
  newerBlockFormat,
  readBlockHeader,
  readDirectory,
  sealBlock,
  verifyBlock,
} from '../../src/stores/segment-format.ts'

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

/** A block sealed as the cold store seals one: payload and directory through compressPayload. */
function sealed(entries: Parameters<typeof layoutBlock>[0]) {
  const layout = layoutBlock(entries)
  return sealBlock(layout, compressPayload(layout.raw, 6), compressPayload(layout.directory, 6))
}

/** What a block says of itself once read back: its records, its raw payload, and whether its directory was deflated. */
function readBack(bytes: Uint8Array) {
  const header = readBlockHeader(bytes)!
  expect(verifyBlock(bytes, header)).toBe(true)
  const records = readDirectory(header, bytes.subarray(BLOCK_HEADER_BYTES, BLOCK_HEADER_BYTES + header.directoryBytes))
  return { header, records, payload: blockPayload(bytes, header) }
}

describe('cold blocks (format 2: the key directory deflated where it pays)', () => {
  const chat = buildCorpus(300).map((record) => ({
    kind: KIND_PUT as typeof KIND_PUT,
    key: `vdefault\u0000conv:${record.conv}:${record.id}`,
    value: encodeValue(record),
  }))

  it('read back every record of a block whose directory was deflated, and store that directory in a fraction of its bytes', () => {
    const entries = [...chat.slice(0, 40), { kind: KIND_DELETE as typeof KIND_DELETE, key: 'vdefault\u0000gone' }]
    const layout = layoutBlock(entries)
    const rawDirectory = layout.directoryBytes
    const block = sealed(entries)
    const { header, records, payload } = readBack(block.bytes)
    expect(header.directoryDeflated).toBe(true)
    expect(header.directoryBytes).toBeLessThan(rawDirectory * 0.5)
    expect(records.map((r) => [r.kind, r.key])).toEqual(entries.map((e) => [e.kind, e.key]))
    records.forEach((r, i) => {
      if (r.kind === KIND_DELETE) return expect(r.length).toBe(0)
      expect(Buffer.from(payload.subarray(r.offset, r.offset + r.length)).equals(entries[i]!.value!)).toBe(true)
    })
  })

  it('keep a directory deflate cannot shrink by 5 % as it is (one short key)', () => {
    const block = sealed([{ kind: KIND_PUT, key: 'va', value: new TextEncoder().encode('x'.repeat(500)) }])
    const { header, records } = readBack(block.bytes)
    expect(header.directoryDeflated).toBe(false)
    expect(header.directoryBytes).toBe(11 + 2)
    expect(records).toEqual([{ kind: KIND_PUT, key: 'va', offset: 0, length: 500 }])
  })

  it('still read blocks of format 1, which an earlier tiermem wrote', () => {
    const entries = chat.slice(0, 25)
    const { header, records, payload } = readBack(formatOneBlock(entries))
    expect(header.directoryDeflated).toBe(false)
    expect(records.map((r) => r.key)).toEqual(entries.map((e) => e.key))
    const last = records[24]!
    expect(Buffer.from(payload.subarray(last.offset, last.offset + last.length)).equals(entries[24]!.value)).toBe(true)
  })

  it('name a newer format only from format 3 on', () => {
    const magic = (digit: string) => new TextEncoder().encode(`TMB${digit}`)
    expect(newerBlockFormat(magic('1'))).toBeUndefined()
    expect(newerBlockFormat(magic('2'))).toBeUndefined()
    expect(newerBlockFormat(magic('3'))).toBe(3)
  })

  it('report a damaged deflated directory as CORRUPT, never as other records', () => {
    const block = sealed(chat.slice(0, 40)).bytes
    const header = readBlockHeader(block)!
    expect(header.directoryDeflated).toBe(true)
    const directory = () => block.slice(BLOCK_HEADER_BYTES, BLOCK_HEADER_BYTES + header.directoryBytes)
    // Its raw length, then a byte inside the deflated bytes: each read fails rather than parse into other keys.
    for (const at of [1, 4 + 3, header.directoryBytes - 2]) {
      const damaged = directory()
      damaged[at]! ^= 0xff
      let outcome: unknown
      try {
        outcome = readDirectory(header, damaged).map((r) => r.key)
      } catch (error) {
        outcome = error
      }
      // A raw length that does not match what inflates always fails; a flipped bit in the stream either fails or (where deflate shrugs it off) still gives the same keys.
      if (at === 1 || !Array.isArray(outcome)) expect(outcome).toMatchObject({ code: 'CORRUPT', name: 'TiermemError' })
      else expect(outcome).toEqual(chat.slice(0, 40).map((e) => e.key))
    }
  })
})

import { deflateSync, inflateSync } from 'fflate'
import fc from 'fast-check'
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
  sealedBytes,
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

/** A block sealed as the cold store seals one: its payload through compressPayload. */
function sealed(entries: Parameters<typeof layoutBlock>[0]) {
  const layout = layoutBlock(entries)
  return sealBlock(layout, compressPayload(layout.raw, 6))
}

/** What a block says of itself once read back: its header, its records and its raw payload. */
function readBack(bytes: Uint8Array) {
  const header = readBlockHeader(bytes)!
  expect(verifyBlock(bytes, header)).toBe(true)
  const records = readDirectory(header, bytes.subarray(BLOCK_HEADER_BYTES, BLOCK_HEADER_BYTES + header.directoryBytes))
  return { header, records, payload: blockPayload(bytes, header) }
}

type Entry = { kind: 1 | 2; key: string; value?: Uint8Array }

/** Format 1's directory size for these entries: 11 bytes and the key a record. */
const formatOneDirectoryBytes = (entries: readonly Entry[]) => entries.reduce((sum, e) => sum + 11 + new TextEncoder().encode(e.key).byteLength, 0)

describe('cold blocks (format 2: front-coded keys, lengths as varints)', () => {
  const chat = buildCorpus(300).map((record): Entry => ({ kind: KIND_PUT, key: `vdefault\u0000conv:${record.conv}:${record.id}`, value: encodeValue(record) }))

  it('read back every record of a block, in a third of the directory bytes format 1 took', () => {
    const entries: Entry[] = [...chat.slice(0, 40), { kind: KIND_DELETE, key: 'vdefault\u0000gone' }, chat[40]!]
    const { header, records, payload } = readBack(sealed(entries).bytes)
    expect(header.format).toBe(2)
    expect(header.directoryBytes).toBeLessThan(formatOneDirectoryBytes(entries) / 3)
    expect(records.map((r) => [r.kind, r.key])).toEqual(entries.map((e) => [e.kind, e.key]))
    records.forEach((r, i) => {
      if (r.kind === KIND_DELETE) return expect([r.offset, r.length]).toEqual([0, 0])
      expect(Buffer.from(payload.subarray(r.offset, r.offset + r.length)).equals(entries[i]!.value!)).toBe(true)
    })
  })

  it('round-trip any keys and lengths: shared prefixes that split a UTF-8 character, long keys, empty values, deletes', () => {
    const key = fc.oneof(
      fc.string({ unit: fc.constantFrom('a', 'b', 'é', 'è', '€', '😀', '\u0000'), maxLength: 12 }),
      fc.string({ unit: 'binary', minLength: 200, maxLength: 700 }),
    )
    const entry = fc.record({ kind: fc.constantFrom(KIND_PUT, KIND_DELETE), key: key.map((k) => `v${k}`), length: fc.nat(300) })
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 40 }), (drawn) => {
        const entries: Entry[] = drawn.map((e) =>
          e.kind === KIND_DELETE ? { kind: KIND_DELETE, key: e.key } : { kind: KIND_PUT, key: e.key, value: new Uint8Array(e.length).fill(7) },
        )
        const layout = layoutBlock(entries)
        expect(readDirectory({ ...readBlockHeader(sealed(entries).bytes)! }, layout.directory)).toEqual(layout.records)
      }),
    )
  })

  it('lay out a delete that carries bytes as a delete alone: the block still reads back', () => {
    const put = new TextEncoder().encode('kept')
    const { records, payload } = readBack(
      sealed([
        { kind: KIND_DELETE, key: 'vgone', value: new Uint8Array(9).fill(1) },
        { kind: KIND_PUT, key: 'vkept', value: put },
      ]).bytes,
    )
    expect(records).toEqual([
      { kind: KIND_DELETE, key: 'vgone', offset: 0, length: 0 },
      { kind: KIND_PUT, key: 'vkept', offset: 0, length: 4 },
    ])
    expect(Buffer.from(payload.subarray(0, 4)).equals(put)).toBe(true)
  })

  it('seal into a buffer that held other bytes exactly as into a new one, and lay out into a given view', () => {
    const entries = chat.slice(0, 40)
    const fresh = sealed(entries)
    // A reused payload view (its buffer larger and dirty) and a dirty run buffer.
    const pooled = new Uint8Array(200_000).fill(0xee)
    const layout = layoutBlock(entries, (bytes) => pooled.subarray(0, bytes))
    expect(layout.raw.buffer).toBe(pooled.buffer)
    const payload = compressPayload(layout.raw, 6)
    const run = new Uint8Array(sealedBytes(layout, payload) + 10).fill(0xff)
    const into = run.subarray(5, 5 + sealedBytes(layout, payload))
    const block = sealBlock(layout, payload, into)
    expect(block.bytes).toBe(into)
    expect(into).toEqual(fresh.bytes)
    expect(readBack(into).records).toEqual(readBack(fresh.bytes).records)
    expect(() => sealBlock(layout, payload, run)).toThrow(RangeError)
    expect(() => layoutBlock(entries, () => new Uint8Array(3))).toThrow(RangeError)
  })

  it('refuse a key longer than 65,535 UTF-8 bytes', () => {
    expect(() => layoutBlock([{ kind: KIND_PUT, key: `v${'€'.repeat(22_000)}`, value: new Uint8Array(1) }])).toThrow(
      expect.objectContaining({ code: 'INVALID_KEY' }),
    )
    const longest = `v${'a'.repeat(65_534)}`
    expect(readBack(sealed([{ kind: KIND_PUT, key: longest, value: new Uint8Array(3) }]).bytes).records[0]!.key).toBe(longest)
  })

  it('still read blocks of format 1, which an earlier tiermem wrote', () => {
    const entries = chat.slice(0, 25)
    const { header, records, payload } = readBack(formatOneBlock(entries))
    expect(header.format).toBe(1)
    expect(records.map((r) => r.key)).toEqual(entries.map((e) => e.key))
    const last = records[24]!
    expect(Buffer.from(payload.subarray(last.offset, last.offset + last.length)).equals(entries[24]!.value!)).toBe(true)
  })

  it('name a newer format only from format 3 on', () => {
    const magic = (digit: string) => new TextEncoder().encode(`TMB${digit}`)
    expect(newerBlockFormat(magic('1'))).toBeUndefined()
    expect(newerBlockFormat(magic('2'))).toBeUndefined()
    expect(newerBlockFormat(magic('3'))).toBe(3)
  })

  it('report a damaged directory as CORRUPT (a length that no longer adds up, a cut), and never fail otherwise', () => {
    const block = sealed(chat.slice(0, 40)).bytes
    const header = readBlockHeader(block)!
    const directory = block.slice(BLOCK_HEADER_BYTES, BLOCK_HEADER_BYTES + header.directoryBytes)
    const read = (bytes: Uint8Array) => {
      try {
        return readDirectory(header, bytes)
      } catch (error) {
        return error
      }
    }
    const corrupt = expect.objectContaining({ code: 'CORRUPT', name: 'TiermemError' })
    // The last byte is the last put's length (chat records are 200 B – 4 KiB: two varint bytes).
    const lastLength = directory.slice()
    lastLength[lastLength.length - 1]! ^= 0x01
    expect(read(lastLength)).toEqual(corrupt)
    expect(read(directory.subarray(0, directory.length - 1))).toEqual(corrupt)
    // Every single-byte damage: CORRUPT, or records (a changed key byte still parses) — nothing else thrown.
    for (let at = 0; at < directory.length; at++) {
      const damaged = directory.slice()
      damaged[at]! ^= 0xff
      const outcome = read(damaged)
      if (!Array.isArray(outcome)) expect(outcome).toEqual(corrupt)
    }
  })
})

import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { packKeys, unpackKeys } from '../../src/core/backup/key-list.ts'
import { toBackupState, toStoredState } from '../../src/core/backup/backup-state.ts'
import { TimeSlices } from '../../src/core/engine/time-slices.ts'
import { decodeValue, encodeValue } from '../../src/core/persistence/codec.ts'

const slices = () => new TimeSlices()
// An entry's namespace and key: any well-formed text, astral too.
const names = fc.tuple(fc.string({ unit: 'grapheme', minLength: 1 }), fc.string({ unit: 'grapheme', minLength: 1 }))
/** Packs the entries' store keys from their names. */
const pack = (entries: Array<[string, string]>) =>
  packKeys(
    entries.map(([ns]) => ns),
    entries.map(([, key]) => key),
    slices(),
  )
const storeKeys = (entries: Array<[string, string]>) => entries.map(([ns, key]) => `${ns}\u0000${key}`)

describe('the backup state', () => {
  it('packs store keys (namespace NUL key) into bytes and gives them back exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(names, { maxLength: 200 }), async (entries) => {
        expect(await unpackKeys(await pack(entries), entries.length, slices())).toEqual(storeKeys(entries))
      }),
    )
    // Past the first guess of room (48 bytes a key): long keys grow the buffer.
    const long = Array.from({ length: 50 }, (_, i): [string, string] => ['ns', `${'é'.repeat(500)}${i}`])
    expect(await unpackKeys(await pack(long), 50, slices())).toEqual(storeKeys(long))
  })

  it('bytes that do not hold exactly the keys counted read as no state', async () => {
    const bytes = await pack([
      ['a', 'one'],
      ['a', 'two'],
      ['b', 'three'],
    ])
    expect(await unpackKeys(bytes, 2, slices())).toBeUndefined() // bytes left over
    expect(await unpackKeys(bytes, 4, slices())).toBeUndefined() // a key missing
    expect(await unpackKeys(bytes.subarray(0, bytes.length - 1), 3, slices())).toBeUndefined() // truncated
    const bad = bytes.slice()
    bad[4] = 0xff // not UTF-8
    expect(await unpackKeys(bad, 3, slices())).toBeUndefined()
  })

  it('round-trips through the codec as stored, and a state of the earlier form (an array of keys) still reads', async () => {
    const state = { id: 'b1', seqTo: 42, keys: ['default\u0000k1', 'default\u0000k2'], fp: new Uint32Array([1, 2, 3, 4]) }
    const stored = decodeValue(encodeValue(await toStoredState(state, ['default', 'default'], ['k1', 'k2'], slices())))
    expect(stored).toMatchObject({ id: 'b1', seqTo: 42, count: 2 })
    expect(await toBackupState(stored, slices())).toEqual(state)
    expect(await toBackupState({ ...state }, slices())).toEqual(state)
  })

  it('anything else reads as no state, so the next backup is a full one', async () => {
    const state = { id: 'b1', seqTo: 42, keys: ['default\u0000k1'], fp: new Uint32Array([1, 2]) }
    const stored = await toStoredState(state, ['default'], ['k1'], slices())
    for (const broken of [
      undefined,
      null,
      'state',
      { ...state, id: 7 },
      { ...state, seqTo: '42' },
      { ...state, fp: [1, 2] },
      { ...state, fp: new Uint32Array(4) }, // two words a key
      { ...state, keys: ['default\u0000k1', 3] },
      { ...stored, count: 2 },
      { ...stored, count: -1 },
      { ...stored, count: undefined },
    ]) {
      expect(await toBackupState(broken, slices())).toBeUndefined()
    }
  })
})

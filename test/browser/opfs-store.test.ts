import { describe, expect, it } from 'vitest'
import type { Store } from '../../src/core/store/store.ts'
import { defineStoreContract } from '../contract/store-contract.ts'
import { BLOCK_HEADER_BYTES, KIND_PUT, layoutBlock } from '../../src/stores/segment-format.ts'
import { formatOneBlock } from '../fixtures/format-one-block.ts'
import { remoteOpfsStore, storeHost } from './store-host.ts'

const directories = new WeakMap<Store, string>()
let counter = 0
const fresh = async (options: Record<string, unknown> = {}) => {
  const directory = `contract-${Date.now()}-${counter++}`
  await storeHost().deleteStore(directory)
  const store = await remoteOpfsStore({ directory, ...options })
  directories.set(store, directory)
  return { store, directory }
}

defineStoreContract('OPFS (real Chromium, sync access handles in a worker)', {
  create: async () => (await fresh()).store,
  reopen: async (store) => remoteOpfsStore({ directory: directories.get(store)! }),
})

defineStoreContract('OPFS, deflating on its own thread (compression: inline)', {
  create: async () => (await fresh({ compression: 'inline' })).store,
  reopen: async (store) => remoteOpfsStore({ directory: directories.get(store)!, compression: 'inline' }),
})

const text = (n: number) => new TextEncoder().encode(`the assistant remembered item ${n} about the user's trip to Lisbon. `.repeat(4))
/** 300 bytes deflate cannot shrink: sizes on disk are known. */
const noise = (seed: number) => new Uint8Array(300).map((_, i) => (Math.imul(seed * 7919 + i, 2654435761) >>> 24) & 255)
const put = (key: string, value: Uint8Array) => ({ type: 'put' as const, space: 'values' as const, key, value })
const del = (key: string) => ({ type: 'delete' as const, space: 'values' as const, key })

describe('OPFS store specifics', () => {
  it('refuses compressionThreads that are not a small positive integer', async () => {
    for (const compressionThreads of [0, 1.5, 99]) {
      await expect(remoteOpfsStore({ directory: `bad-threads-${compressionThreads}`, compressionThreads })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    }
  })

  it('batches issued together land in call order, though each starts compressing at once', async () => {
    const { store, directory } = await fresh()
    await Promise.all([store.batch([put('k', text(1)), put('a', text(9))]), store.batch([put('k', text(2))]), store.batch([del('a')])])
    expect(await store.getMany('values', ['k', 'a'])).toEqual([text(2), undefined])
    await store.close()
    const reopened = await remoteOpfsStore({ directory })
    expect(await reopened.getMany('values', ['k', 'a'])).toEqual([text(2), undefined])
    await reopened.close()
  })

  it('compresses blocks of text well and reads single records back', async () => {
    const { store } = await fresh()
    await store.batch(Array.from({ length: 500 }, (_, i) => put(`k${i}`, text(i))))
    const stats = await store.stats()
    expect(stats.compressionRatio).toBeLessThan(0.2)
    expect(await store.getMany('values', ['k0', 'k499', 'k250'])).toEqual([text(0), text(499), text(250)])
    await store.close()
  })

  it('reports CORRUPT for a damaged block and keeps serving the other blocks', async () => {
    const { store, directory } = await fresh({ blockBytes: 256 })
    await store.batch([put('a', text(1))])
    await store.batch([put('b', text(2))])
    await store.close()
    const [segment] = await storeHost().files(directory)
    await storeHost().corrupt(directory, segment!.name, 40)
    const again = await remoteOpfsStore({ directory })
    await expect(again.getMany('values', ['a'])).rejects.toMatchObject({ code: 'CORRUPT', name: 'TiermemError' })
    expect(await again.getMany('values', ['b'])).toEqual([text(2)])
    await again.close()
  })

  it('reads the blocks an earlier tiermem wrote (format 1) beside its own, and writes its own after them', async () => {
    const { store, directory } = await fresh()
    await store.batch([put('first', text(1))])
    await store.close()
    const [segment] = await storeHost().files(directory)
    // Keys as the store files them: 'v' (the values space) + the key.
    await storeHost().appendGarbage(
      directory,
      segment!.name,
      formatOneBlock([
        { kind: 1, key: 'vold-1', value: text(11) },
        { kind: 1, key: 'vold-2', value: text(12) },
        { kind: 2, key: 'vfirst' },
      ]),
    )
    const again = await remoteOpfsStore({ directory })
    expect(await again.getMany('values', ['first', 'old-1', 'old-2'])).toEqual([undefined, text(11), text(12)])
    await again.batch([put('new', text(3))])
    await again.close()
    const third = await remoteOpfsStore({ directory })
    expect(await third.getMany('values', ['old-1', 'old-2', 'new', 'first'])).toEqual([text(11), text(12), text(3), undefined])
    await third.close()
  })

  it('opens past a block whose key directory is damaged: the blocks after it read as before', async () => {
    const { store, directory } = await fresh()
    // One block of 30 small records.
    const small = (i: number) => new TextEncoder().encode(`note ${i}`)
    const first = Array.from({ length: 30 }, (_, i) => put(`conversation-7:message-${i}`, small(i)))
    await store.batch(first)
    await store.batch([put('after', text(2))])
    await store.close()
    const [segment] = await storeHost().files(directory)
    // The directory's last byte (the last record's length) no longer adds up with the payload's.
    const { directory: written } = layoutBlock(first.map((op) => ({ kind: KIND_PUT, key: `v${op.key}`, value: op.value })))
    await storeHost().corrupt(directory, segment!.name, BLOCK_HEADER_BYTES + written.byteLength - 1)
    const again = await remoteOpfsStore({ directory })
    expect(await again.getMany('values', ['after', 'conversation-7:message-0'])).toEqual([text(2), undefined])
    await again.batch([put('conversation-7:message-0', small(0))])
    expect(await again.getMany('values', ['conversation-7:message-0'])).toEqual([small(0)])
    await again.close()
  })

  it('truncates a torn tail left by a crash mid-append and keeps everything before it', async () => {
    const { store, directory } = await fresh()
    await store.batch([put('a', text(1)), put('b', text(2))])
    await store.close()
    const [segment] = await storeHost().files(directory)
    // A torn block: a valid-looking magic and a length that runs past the end of the file.
    await storeHost().appendGarbage(
      directory,
      segment!.name,
      new Uint8Array([0x54, 0x4d, 0x42, 0x31, 9, 9, 9, 9, 0, 0, 0, 0, 1, 0, 0, 0, 255, 255, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]),
    )
    const again = await remoteOpfsStore({ directory })
    expect(await again.getMany('values', ['a', 'b'])).toEqual([text(1), text(2)])
    await again.batch([put('c', text(3))])
    await again.close()
    const third = await remoteOpfsStore({ directory })
    expect(await third.getMany('values', ['a', 'b', 'c'])).toEqual([text(1), text(2), text(3)])
    await third.close()
  })

  it('refuses to open blocks a newer tiermem wrote, and leaves them untouched (no truncation)', async () => {
    const { store, directory } = await fresh()
    await store.batch([put('a', text(1))])
    await store.close()
    const [segment] = await storeHost().files(directory)
    // A block header of a future format 3: 'TMB3', then a header this version cannot parse.
    await storeHost().appendGarbage(directory, segment!.name, new Uint8Array([0x54, 0x4d, 0x42, 0x33, ...new Array<number>(60).fill(7)]))
    const sizeBefore = (await storeHost().files(directory))[0]!.size
    await expect(remoteOpfsStore({ directory })).rejects.toMatchObject({
      code: 'CORRUPT',
      message: expect.stringMatching(/format 3, written by a newer tiermem/),
    })
    expect((await storeHost().files(directory))[0]!.size).toBe(sizeBefore)
  })

  it('joins a batch of many blocks into few writes, yet no segment passes its size and every record reads back after a reopen', async () => {
    const segmentBytes = 8000
    const { store, directory } = await fresh({ segmentBytes, blockBytes: 1024 })
    // 200 records deflate cannot shrink: ~50 blocks of ~1.2 KB, ~60 KB in all.
    await store.batch(Array.from({ length: 200 }, (_, i) => put(`k${i}`, noise(i))))
    await store.batch(Array.from({ length: 40 }, (_, i) => put(`late${i}`, noise(1000 + i))))
    const { storedBytes } = await store.stats()
    await store.close()
    const files = await storeHost().files(directory)
    const total = files.reduce((sum, f) => sum + f.size, 0)
    expect(total).toBe(storedBytes)
    expect(files.length).toBeGreaterThanOrEqual(Math.ceil(total / segmentBytes))
    for (const file of files) expect(file.size).toBeLessThanOrEqual(segmentBytes)
    const again = await remoteOpfsStore({ directory })
    const keys = [...Array.from({ length: 200 }, (_, i) => `k${i}`), ...Array.from({ length: 40 }, (_, i) => `late${i}`)]
    const expected = [...Array.from({ length: 200 }, (_, i) => noise(i)), ...Array.from({ length: 40 }, (_, i) => noise(1000 + i))]
    expect(await again.getMany('values', keys)).toEqual(expected)
    await again.close()
  })

  it('batches issued together, laid out in reused payload buffers, each read back exactly, on both compressors and after a reopen', async () => {
    for (const compression of ['worker', 'inline'] as const) {
      // Small blocks: each batch is dozens of them, laid out in buffers the compressor handed
      // back for earlier blocks, while other batches still compress or wait to be written. Noise
      // is stored raw (its payload is the pooled buffer itself until sealed); text deflates into
      // a buffer of its own.
      const { store, directory } = await fresh({ blockBytes: 1024, compression })
      const value = (b: number, i: number) => (i % 3 === 0 ? noise(b * 10_000 + i) : text(b * 10_000 + i))
      const batches = Array.from({ length: 6 }, (_, b) => Array.from({ length: b === 0 ? 600 : 80 }, (_, i) => put(`b${b}:${i}`, value(b, i))))
      await Promise.all(batches.map((ops) => store.batch(ops)))
      // Overwrites issued together with a second round: the newest must win, intact.
      await Promise.all([store.batch(batches[1]!.map((op, i) => put(op.key, value(9, i)))), store.batch(batches[2]!.slice(0, 40))])
      const keys = batches.flatMap((ops) => ops.map((op) => op.key))
      const expected = batches.flatMap((ops, b) => ops.map((_, i) => value(b === 1 ? 9 : b, i)))
      expect(await store.getMany('values', keys)).toEqual(expected)
      await store.close()
      const again = await remoteOpfsStore({ directory, compression })
      expect(await again.getMany('values', keys)).toEqual(expected)
      await again.close()
    }
  })

  it('reserves the active segment up front, cuts the reservation off when closing, and finds every record after a crash that left it', async () => {
    const segmentBytes = 64 * 1024
    const { store, directory } = await fresh({ segmentBytes })
    await store.batch([put('a', text(1)), put('b', text(2))])
    // While open, the active segment's file already has its full size: appends never grow it.
    expect((await storeHost().files(directory)).map((f) => f.size)).toEqual([segmentBytes])
    const { storedBytes } = await store.stats()
    await store.close()
    expect((await storeHost().files(directory)).map((f) => f.size)).toEqual([storedBytes])
    // A crash leaves the reservation's zeros behind the last block: the blocks are all found,
    // the zeros cut off, and appends go on right after the last block.
    const [segment] = await storeHost().files(directory)
    await storeHost().appendGarbage(directory, segment!.name, new Uint8Array(20_000))
    const again = await remoteOpfsStore({ directory, segmentBytes })
    expect(await again.getMany('values', ['a', 'b'])).toEqual([text(1), text(2)])
    await again.batch([put('c', text(3))])
    await again.close()
    const third = await remoteOpfsStore({ directory, segmentBytes })
    expect(await third.getMany('values', ['a', 'b', 'c'])).toEqual([text(1), text(2), text(3)])
    expect((await storeHost().files(directory))[0]!.size).toBe(segmentBytes)
    await third.close()
  })

  it('drops a torn last block even when the zeros of a reservation follow it', async () => {
    const { store, directory } = await fresh()
    await store.batch([put('a', text(1))])
    await store.batch([put('b', text(2))])
    await store.close()
    const [segment] = await storeHost().files(directory)
    // The last block torn: its payload's end lost, zeros where it was, more zeros after.
    await storeHost().corrupt(directory, segment!.name, segment!.size - 3)
    await storeHost().appendGarbage(directory, segment!.name, new Uint8Array(4096))
    const again = await remoteOpfsStore({ directory })
    expect(await again.getMany('values', ['a', 'b'])).toEqual([text(1), undefined])
    await again.close()
  })

  it('compacts segments that are mostly dead and keeps every live record', async () => {
    const workload = async (compactDeadRatio: number) => {
      const { store, directory } = await fresh({ segmentBytes: 2048, blockBytes: 1024, compactDeadRatio })
      for (let round = 0; round < 6; round++) await store.batch(Array.from({ length: 20 }, (_, i) => put(`k${i}`, text(round * 100 + i))))
      await store.batch(Array.from({ length: 10 }, (_, i) => del(`k${i}`)))
      const stats = await store.stats()
      expect(await store.getMany('values', ['k0', 'k10', 'k19'])).toEqual([undefined, text(510), text(519)])
      await store.close()
      // Once closed (the active segment's reservation cut off), the files hold exactly its blocks.
      const files = await storeHost().files(directory)
      const again = await remoteOpfsStore({ directory })
      expect(await again.getMany('values', ['k0', 'k10', 'k19'])).toEqual([undefined, text(510), text(519)])
      await again.close()
      return { files: files.length, bytes: files.reduce((sum, f) => sum + f.size, 0), stats }
    }
    const never = await workload(1.01)
    const compacted = await workload(0.5)
    expect(compacted.files).toBeLessThan(never.files)
    expect(compacted.bytes).toBeLessThan(never.bytes * 0.6)
    expect(compacted.stats.deadRatio).toBeLessThan(never.stats.deadRatio)
    expect(compacted.stats.storedBytes).toBe(compacted.bytes)
  })

  it('compacts several segments that one batch leaves mostly dead, each keeping its live records', async () => {
    const workload = async (compactDeadRatio: number) => {
      const { store, directory } = await fresh({ segmentBytes: 2048, blockBytes: 512, compactDeadRatio })
      // Six segments or so of records; then one batch deletes all but every fifth key.
      for (let round = 0; round < 6; round++) await store.batch(Array.from({ length: 8 }, (_, i) => put(`r${round}k${i}`, noise(round * 100 + i))))
      const keys = Array.from({ length: 48 }, (_, n) => `r${Math.floor(n / 8)}k${n % 8}`)
      const kept = keys.filter((_, n) => n % 5 === 0)
      const before = (await storeHost().files(directory)).length
      await store.batch(keys.filter((_, n) => n % 5 !== 0).map(del))
      const files = (await storeHost().files(directory)).length
      const expected = kept.map((key) => noise(Number(key.slice(1, key.indexOf('k'))) * 100 + Number(key.slice(key.indexOf('k') + 1))))
      expect(await store.getMany('values', kept)).toEqual(expected)
      expect(await store.getMany('values', ['r0k1', 'r5k7'])).toEqual([undefined, undefined])
      await store.close()
      const again = await remoteOpfsStore({ directory })
      expect(await again.getMany('values', kept)).toEqual(expected)
      expect(await again.getMany('values', ['r0k1', 'r5k7'])).toEqual([undefined, undefined])
      await again.close()
      return { before, files }
    }
    const never = await workload(1.01)
    const compacted = await workload(0.5)
    expect(never.before).toBeGreaterThanOrEqual(4)
    // The deleting batch sealed nearly every segment past half dead: all of them went in one compaction.
    expect(compacted.files).toBeLessThanOrEqual(never.files - 3)
  })

  it('a deleted key stays deleted after the segment holding its tombstone is compacted', async () => {
    // Incompressible 300-byte values and 256-byte blocks: one record per block, three blocks
    // (344 bytes each) per 1,040-byte segment, so where each record lands is known.
    const { store, directory } = await fresh({ segmentBytes: 1040, blockBytes: 256, compactDeadRatio: 0.5 })
    await store.batch([put('gone', noise(1)), put('keep0', noise(2)), put('keep1', noise(3))]) // segment 1
    await store.batch([del('gone'), put('churn0', noise(4)), put('churn1', noise(5))]) // segment 2: the tombstone
    await store.batch([put('churn0', noise(6)), put('churn1', noise(7))]) // segment 2 is now all dead
    await store.batch([put('tail', noise(8))]) // ...and sealed behind newer segments: compacted
    const files = (await storeHost().files(directory)).map((f) => f.name)
    expect(files).toContain('seg-00000001.tms') // the segment with the put of 'gone' survives (2/3 live)
    expect(files).not.toContain('seg-00000002.tms') // the segment with its tombstone was compacted away
    expect(await store.getMany('values', ['gone', 'keep1'])).toEqual([undefined, noise(3)])
    await store.close()
    const again = await remoteOpfsStore({ directory })
    expect(await again.getMany('values', ['gone', 'keep1', 'churn1', 'tail'])).toEqual([undefined, noise(3), noise(7), noise(8)])
    await again.close()
  })

  it('refuses a second open of the same files with a clear error', async () => {
    const { store, directory } = await fresh()
    await expect(remoteOpfsStore({ directory })).rejects.toMatchObject({
      code: 'LOCKED',
      message: expect.stringMatching(/another tab or worker has this memory open/),
    })
    await store.close()
  })
})

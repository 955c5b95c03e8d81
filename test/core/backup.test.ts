import { deflateSync, unzipSync, zipSync, strToU8, strFromU8 } from 'fflate'
import { describe, expect, it } from 'vitest'
import { createMemory, fileSums, type EntryInfo, type Memory } from '../../src/core/index.ts'
import { memoryRecordFiles } from '../../src/core/store/record-file.ts'
import { DAY, fakeClock, open, openOver, plainLayers, type FakeClock } from './helpers.ts'
import { memoryStoreData } from '../../src/core/store/memory-store.ts'
import { sha256Hex } from '../../src/core/backup/sha256-hex.ts'
import { inflateChecked } from '../../src/core/backup/inflate-checked.ts'
import type { Inflater } from '../../src/core/store/inflater.ts'
import { RecordFileBuilder } from '../../src/core/backup/record-frames.ts'
import { RECORD_FILE_TARGET, type RecordMeta } from '../../src/core/backup/backup-format.ts'
import { encodeValue } from '../../src/core/persistence/codec.ts'
import { formatHash, hashBytes } from '../../src/core/persistence/content-hash.ts'

const readAll = async (stream: ReadableStream<Uint8Array>) => new Uint8Array(await new Response(stream).arrayBuffer())

const backupOf = async (mem: Memory, options?: Parameters<Memory['backup']>[0]) => readAll(await mem.backup(options))

/** What a memory holds, as a user sees it: every entry's info (without placement and access) and value. */
async function contents(mem: Memory, namespace?: string): Promise<Array<[string, unknown, Partial<EntryInfo>]>> {
  const entries = await mem.query(namespace === undefined ? {} : { namespace })
  const out: Array<[string, unknown, Partial<EntryInfo>]> = []
  for (const e of entries.sort((a, b) => (a.namespace + a.key < b.namespace + b.key ? -1 : 1))) {
    const value = await mem.peek(e.key, { namespace: e.namespace })
    const { tier: _tier, lastAccessedAt: _l, accessCount: _a, ...rest } = e
    out.push([`${e.namespace}/${e.key}`, value, rest])
  }
  return out
}

/** A put record's metadata as a backup writes it; each test changes what it is about. */
const putMeta = (fields: Partial<RecordMeta>): RecordMeta => ({
  ns: 'default',
  key: 'k',
  type: 'context',
  layer: 'interact',
  tier: 'warm',
  importance: 0.5,
  relevance: 0.5,
  createdAt: 1,
  lastAccessedAt: 1,
  accessCount: 0,
  expiresAt: null,
  ttlMs: null,
  evictable: true,
  hash: '0000000000000000',
  ...fields,
})

/** Puts `rec` in place of the first record file, with the manifest's entry (and, if given, its counts) redone to match. */
async function replaceFirstRecordFile(files: Record<string, Uint8Array>, rec: Uint8Array, only?: { records: number; entries: number; valueBytes: number }) {
  files['records/000001.rec'] = rec
  const manifest = JSON.parse(strFromU8(files['manifest.json']!)) as {
    files: Array<{ sha256: string; bytes: number; records: number }>
    counts: { entries: number; valueBytes: number }
  }
  const first = { ...manifest.files[0]!, sha256: await sha256Hex(rec), bytes: rec.length }
  if (only) {
    manifest.files = [{ ...first, records: only.records }]
    manifest.counts = { ...manifest.counts, entries: only.entries, valueBytes: only.valueBytes }
  } else manifest.files[0] = first
  files['manifest.json'] = strToU8(JSON.stringify(manifest))
}

function manifestOf(zip: Uint8Array): Record<string, unknown> {
  return JSON.parse(strFromU8(unzipSync(zip)['manifest.json']!)) as Record<string, unknown>
}

/** Rewrites a backup's members (tests that tamper), re-hashing the manifest if asked so only the deeper checks can catch it. */
async function rewrite(zip: Uint8Array, change: (files: Record<string, Uint8Array>) => void | Promise<void>, rehash = false): Promise<Uint8Array> {
  const files = unzipSync(zip)
  await change(files)
  if (rehash) files['manifest.sha256'] = strToU8(`${await sha256Hex(files['manifest.json']!)}\n`)
  return zipSync(files)
}

async function fresh(clock: FakeClock = fakeClock()): Promise<Memory> {
  return openOver(memoryStoreData(), memoryStoreData(), clock)
}

describe('backup and restoreBackup', () => {
  it('round-trips every tier, value kind, metadata and vector into another memory', async () => {
    const clock = fakeClock()
    const src = await fresh(clock)
    await src.put('hot', { a: 1, when: new Date(5), set: new Set([1, 2]), map: new Map([['k', [1]]]) }, { type: 'fact', importance: 0.8, tags: ['x', 'y'] })
    await src.put('warm', new Uint8Array([1, 2, 3]), { tier: 'warm', taskId: 'task-1', evictable: false })
    await src.put('cold', 'c'.repeat(5000), { tier: 'cold', relevance: 0.2, ttlMs: 10 * DAY })
    await src.put('other', 42, { namespace: 'agent-2', type: 'message' })
    await src.put('v', 'with a vector', { vector: new Float32Array([1, 0, 0, 0]) })
    await src.put('scratch', 1, { durable: false })
    for (let i = 0; i < 3; i++) await src.get('hot')
    const zip = await backupOf(src)
    const manifest = manifestOf(zip)
    expect(manifest).toMatchObject({ format: 'tiermem-backup', version: 1, kind: 'full', parentId: null, counts: { entries: 6, deletes: 0, damaged: 0 } })

    clock.advance(1000)
    const dst = await fresh(clock)
    const result = await dst.restoreBackup(zip)
    expect(result).toMatchObject({ restored: 6, deleted: 0, expired: 0, backups: [{ id: manifest.id, kind: 'full' }] })
    expect(await contents(dst)).toEqual((await contents(src)).filter(([k]) => k !== 'default/scratch'))
    expect((await dst.getEntry('hot'))?.accessCount).toBe(3)
    expect((await dst.getEntry('cold'))?.tier).toBe('cold')
    const hits = await dst.recall(new Float32Array([1, 0, 0, 0]), { k: 1 })
    expect(hits.map((h) => h.key)).toEqual(['v'])
    await src.close()
    await dst.close()
  })

  it('an incremental holds only what changed since the last backup, deletes included, and the chain restores in order', async () => {
    const clock = fakeClock()
    const src = await fresh(clock)
    await src.putMany(Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: i })))
    const full = await backupOf(src)
    clock.advance(1000)
    await src.put('k1', 'changed')
    await src.delete('k2')
    await src.put('new', 'n')
    await src.get('k3') // a read is not a change
    const inc1 = await backupOf(src, { incremental: true })
    expect(manifestOf(inc1)).toMatchObject({ kind: 'incremental', parentId: manifestOf(full).id, counts: { entries: 2, deletes: 1 } })
    const afterInc1 = await contents(src)
    clock.advance(1000)
    await src.delete('new')
    await src.put('k5', 'five', { importance: 0.9 })
    const inc2 = await backupOf(src, { incremental: true })
    expect(manifestOf(inc2)).toMatchObject({ parentId: manifestOf(inc1).id, counts: { entries: 1, deletes: 1 } })

    const dst = await fresh(clock)
    await dst.restoreBackup([full, inc1, inc2])
    expect(await contents(dst)).toEqual(await contents(src))

    // Point in time: only the backups made up to `until`.
    const past = await fresh(clock)
    await past.restoreBackup([full, inc1, inc2], { until: (manifestOf(inc1).createdAt as number) + 1 })
    expect(await contents(past)).toEqual(afterInc1)
    for (const m of [src, dst, past]) await m.close()
  })

  it('an incremental with nothing before it is a full backup, and an unchanged memory gives an empty incremental', async () => {
    const src = await fresh()
    await src.put('a', 1)
    const first = await backupOf(src, { incremental: true })
    expect(manifestOf(first)).toMatchObject({ kind: 'full', counts: { entries: 1 } })
    const empty = await backupOf(src, { incremental: true })
    expect(manifestOf(empty)).toMatchObject({ kind: 'incremental', counts: { entries: 0, deletes: 0 } })
    const dst = await fresh()
    expect(await dst.restoreBackup([first, empty])).toMatchObject({ restored: 1 })
    await src.close()
    await dst.close()
  })

  it('an incremental carries an entry whose recorded metadata alone changed, field by field, and nothing else', async () => {
    const src = await fresh()
    const base = { type: 'note', importance: 0.5, relevance: 0.5, tags: ['a', 'b'], ttlMs: 60_000, evictable: true }
    const changes: Array<[string, object]> = [
      ['type', { type: 'fact' }],
      ['importance', { importance: 0.6 }],
      ['relevance', { relevance: 0.4 }],
      ['tags joined otherwise', { tags: ['ab'] }],
      ['tags in another order', { tags: ['b', 'a'] }],
      ['ttlMs', { ttlMs: 120_000 }],
      ['evictable', { evictable: false }],
    ]
    await src.putMany([{ key: 'same', value: 1, ...base }, ...changes.map(([name]) => ({ key: name, value: 1, ...base }))])
    await backupOf(src, { incremental: true })
    await src.putMany([{ key: 'same', value: 1, ...base }, ...changes.map(([name, change]) => ({ key: name, value: 1, ...base, ...change }))])
    const inc = await backupOf(src, { incremental: true })
    expect(manifestOf(inc)).toMatchObject({ kind: 'incremental', counts: { entries: changes.length } })
    const files = unzipSync(inc)
    const text = Object.keys(files)
      .filter((name) => name.endsWith('.rec'))
      .map((name) => strFromU8(files[name]!, true))
      .join('')
    for (const [name] of changes) expect(text).toContain(`"key":"${name}"`)
    expect(text).not.toContain('"key":"same"')
    await src.close()
  })

  it("merge keeps the target's other entries; replace clears them first", async () => {
    const src = await fresh()
    await src.put('shared', 'from backup')
    const zip = await backupOf(src)
    const merge = await fresh()
    await merge.put('shared', 'mine')
    await merge.put('own', 'kept')
    await merge.restoreBackup(zip)
    expect(await merge.getMany(['shared', 'own'])).toEqual(['from backup', 'kept'])
    const replace = await fresh()
    await replace.put('own', 'gone', { namespace: 'n2' })
    const result = await replace.restoreBackup(zip, { mode: 'replace' })
    expect(result.deleted).toBe(1)
    expect(await replace.get('own', { namespace: 'n2' })).toBeUndefined()
    expect(await replace.get('shared')).toBe('from backup')
    for (const m of [src, merge, replace]) await m.close()
  })

  it('entries expired by the time of the restore are left out', async () => {
    const clock = fakeClock()
    const src = await fresh(clock)
    await src.put('short', 1, { ttlMs: 1000 })
    await src.put('long', 2)
    const zip = await backupOf(src)
    clock.advance(2000)
    const dst = await fresh(clock)
    expect(await dst.restoreBackup(zip)).toMatchObject({ restored: 1, expired: 1 })
    expect(await dst.has('short')).toBe(false)
    await src.close()
    await dst.close()
  })

  it('restores from a Blob and from a stream, and reports progress that never goes down and ends at the total', async () => {
    const src = await fresh()
    await src.putMany(Array.from({ length: 1500 }, (_, i) => ({ key: `k${i}`, value: { i, text: 'x'.repeat(i % 50) } })))
    const seen: Array<[number, number]> = []
    const zip = await backupOf(src, { onProgress: (done, total) => seen.push([done, total]) })
    expect(seen.at(-1)).toEqual([1500, 1500])
    expect(seen.every(([d], i) => i === 0 || d >= seen[i - 1]![0])).toBe(true)

    const fromBlob = await fresh()
    await fromBlob.restoreBackup(new Blob([zip as Uint8Array<ArrayBuffer>]))
    expect(await fromBlob.get('k1499')).toEqual({ i: 1499, text: 'x'.repeat(1499 % 50) })

    // A stream read in odd-sized chunks, spooled to record files.
    const records = memoryRecordFiles()
    const fromStream = await createMemory({ ...plainLayers, maintenanceIntervalMs: 0, stores: { records } })
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < zip.byteLength; at += 7777) controller.enqueue(zip.slice(at, at + 7777))
        controller.close()
      },
    })
    const progress: Array<[number, number]> = []
    await fromStream.restoreBackup(stream, { onProgress: (done, total) => progress.push([done, total]) })
    expect(progress.at(-1)).toEqual([1500, 1500])
    expect(await contents(fromStream)).toEqual(await contents(src))
    for (const m of [src, fromBlob, fromStream]) await m.close()
  })

  it('a backup taken while writes go on is whole and restores; writes issued after restoreBackup land after it', async () => {
    const src = await fresh()
    await src.putMany(Array.from({ length: 600 }, (_, i) => ({ key: `k${i}`, value: i })))
    const stream = await src.backup()
    const writes = Array.from({ length: 50 }, (_, i) => src.put(`k${i * 10}`, `late ${i}`))
    const zip = await readAll(stream)
    await Promise.all(writes)
    const dst = await fresh()
    await dst.restoreBackup(zip)
    expect((await dst.query({})).length).toBe(600)

    // Issued together, not awaited one by one: the put after the restore wins.
    const again = await fresh()
    const restoring = again.restoreBackup(zip)
    const after = again.put('k0', 'after the restore')
    await Promise.all([restoring, after])
    expect(await again.get('k0')).toBe('after the restore')
    for (const m of [src, dst, again]) await m.close()
  })

  it('two restores from streams issued together each read their own spool, and apply in issue order', async () => {
    const one = await fresh()
    await one.putMany(Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: `one ${i}` })))
    const two = await fresh()
    await two.putMany(Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: `two ${i}` })))
    const records = memoryRecordFiles()
    const target = await createMemory({ ...plainLayers, maintenanceIntervalMs: 0, stores: { records } })
    await Promise.all([target.restoreBackup(await one.backup()), target.restoreBackup(await two.backup())])
    expect(await target.getMany(['k0', 'k299'])).toEqual(['two 0', 'two 299'])
    for (const m of [one, two, target]) await m.close()
  })

  it('survives a reopen of the source: the next incremental still names the last backup', async () => {
    const h = await open(plainLayers)
    await h.mem.put('a', 1)
    const full = await backupOf(h.mem)
    await h.reopen()
    await h.mem.put('b', 2)
    const inc = await backupOf(h.mem, { incremental: true })
    expect(manifestOf(inc)).toMatchObject({ parentId: manifestOf(full).id, counts: { entries: 1 } })
    await h.mem.close()
  })

  describe('bad backups change nothing', () => {
    async function expectInvalid(sources: Parameters<Memory['restoreBackup']>[0], message?: RegExp) {
      const target = await fresh()
      await target.put('keep', 'me')
      const before = await contents(target)
      const attempt = target.restoreBackup(sources)
      await expect(attempt).rejects.toMatchObject({ code: 'BACKUP_INVALID', ...(message ? { message: expect.stringMatching(message) } : {}) })
      expect(await contents(target)).toEqual(before)
      await target.close()
    }

    async function sample(): Promise<{ full: Uint8Array; inc: Uint8Array }> {
      const src = await fresh()
      await src.putMany(Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `value ${i}` })))
      const full = await backupOf(src)
      await src.put('k1', 'changed')
      const inc = await backupOf(src, { incremental: true })
      await src.close()
      return { full, inc }
    }

    it('truncated at any of several points', async () => {
      const { full } = await sample()
      for (const cut of [0, 10, full.byteLength >> 1, full.byteLength - 30, full.byteLength - 1]) await expectInvalid(full.slice(0, cut))
    })

    it('a record file or the manifest tampered with', async () => {
      const { full } = await sample()
      // A flipped byte in a record file, manifest left as it was: the SHA-256 catches it.
      await expectInvalid(
        await rewrite(full, (files) => {
          const rec = files['records/000001.rec']!
          rec[rec.length - 2]! ^= 1
        }),
        /SHA-256/,
      )
      // The manifest edited without its checksum.
      await expectInvalid(
        await rewrite(full, (files) => {
          files['manifest.json'] = strToU8(strFromU8(files['manifest.json']!).replace('"entries": 30', '"entries": 29'))
        }),
        /checksum/,
      )
      // A record edited, and the manifest's SHA-256 and checksum redone to match: the content hash catches it.
      await expectInvalid(
        await rewrite(
          full,
          async (files) => {
            const rec = files['records/000001.rec']!
            const text = strFromU8(rec, true)
            const at = text.indexOf('value 7')
            rec[at + 6] = '8'.charCodeAt(0)
            const manifest = JSON.parse(strFromU8(files['manifest.json']!)) as { files: Array<{ sha256: string }> }
            manifest.files[0]!.sha256 = await sha256Hex(rec)
            files['manifest.json'] = strToU8(JSON.stringify(manifest))
          },
          true,
        ),
        /content hash/,
      )
    })

    it('a chain out of order, with a gap, or starting with an incremental', async () => {
      const { full, inc } = await sample()
      await expectInvalid([inc], /starts with a full/)
      await expectInvalid([inc, full])
      const other = await sample()
      await expectInvalid([full, other.inc], /does not follow/)
    })

    it('an unknown format or version, an extra member, __proto__ keys, a record over the size limit', async () => {
      const { full } = await sample()
      const withManifest = (edit: (m: Record<string, unknown>) => void) =>
        rewrite(
          full,
          (files) => {
            const m = JSON.parse(strFromU8(files['manifest.json']!)) as Record<string, unknown>
            edit(m)
            files['manifest.json'] = strToU8(JSON.stringify(m))
          },
          true,
        )
      await expectInvalid(await withManifest((m) => (m.version = 2)), /version/)
      await expectInvalid(await withManifest((m) => (m.format = 'something-else')), /not a tiermem backup/)
      await expectInvalid(
        await rewrite(
          full,
          (files) => {
            files['manifest.json'] = strToU8(strFromU8(files['manifest.json']!).replace('{', '{"__proto__": {"polluted": true},'))
          },
          true,
        ),
        /__proto__/,
      )
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      await expectInvalid(await rewrite(full, (files) => void (files['extra.txt'] = strToU8('hi'))), /does not list/)
      await expectInvalid(zipSync({ 'hello.txt': strToU8('not a backup') }), /no manifest/)
      await expectInvalid(new Uint8Array(100), /not a zip/)

      // A record whose value length says 300 MiB: refused by its size, not allocated.
      const big = await rewrite(
        full,
        async (files) => {
          const head = new Uint8Array(5 + 4)
          head.set([0x54, 0x4d, 0x42, 0x4b, 1])
          const meta = strToU8(JSON.stringify(putMeta({ key: 'huge', layer: 'main' })))
          const rec = new Uint8Array(5 + 4 + meta.length + 4)
          rec.set(head.subarray(0, 5))
          new DataView(rec.buffer).setUint32(5, meta.length, true)
          rec.set(meta, 9)
          new DataView(rec.buffer).setUint32(9 + meta.length, 300 * 1024 * 1024, true)
          await replaceFirstRecordFile(files, rec)
        },
        true,
      )
      await expectInvalid(big, /size limit/)
    })

    it('a record for a layer this memory does not have, or for a reserved namespace', async () => {
      const src = await createMemory({ maintenanceIntervalMs: 0, policy: { layers: { special: {} } } })
      await src.put('k', 1, { layer: 'special' })
      const zip = await backupOf(src)
      await expectInvalid(zip, /layer 'special'/)
      await src.close()
      // A record aimed at tiermem's own namespaces (the embedding cache), hashes redone to match.
      const { full } = await sample()
      const aimed = await rewrite(
        full,
        async (files) => {
          const builder = new RecordFileBuilder()
          const value = encodeValue('x')
          const { hi, lo } = hashBytes(value)
          builder.add(putMeta({ ns: 'tiermem:embeddings', hash: formatHash(hi, lo) }), value)
          await replaceFirstRecordFile(files, builder.finish(), { records: 1, entries: 1, valueBytes: value.length })
        },
        true,
      )
      await expectInvalid(aimed, /cannot hold/)
    })
  })

  it('checks its options', async () => {
    const mem = await fresh()
    await expect(mem.backup({ level: 12 })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(mem.backup({ incremental: 'yes' } as never)).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(mem.backup({ nope: 1 } as never)).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(mem.restoreBackup([])).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(mem.restoreBackup('zip' as never)).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(mem.restoreBackup(new Uint8Array(0), { mode: 'overwrite' } as never)).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await mem.close()
    await expect(mem.backup()).rejects.toMatchObject({ code: 'CLOSED' })
  })
})

describe('the zip a backup writes', () => {
  it("CRC-32 matches zlib's, so other zip tools accept each member", async () => {
    const { crc32 } = await import('../../src/core/backup/crc32.ts')
    const { crc32: zlibCrc32 } = await import('node:zlib')
    for (const bytes of [new Uint8Array(0), strToU8('tiermem'), new Uint8Array(100_000).map((_, i) => (i * 7919) & 255)]) {
      expect(crc32(bytes)).toBe(zlibCrc32(bytes) >>> 0)
    }
  })

  it('record files deflated by an injected deflater (the browser lends its compression workers) read back, stored or deflated', async () => {
    let calls = 0
    const src = await createMemory({
      ...plainLayers,
      maintenanceIntervalMs: 0,
      stores: {
        // Stores every other file instead of deflating it, as a worker does where deflate saves too
        // little, and hashes each file there, as the compression workers do.
        deflate: (payloads, level) =>
          Promise.all(
            payloads.map(async (payload) => {
              const sums = await fileSums(payload)
              return calls++ % 2 ? { payload: deflateSync(payload, { level: level as 1 }), deflated: true, sums } : { payload, deflated: false, sums }
            }),
          ),
      },
    })
    await src.putMany(Array.from({ length: 3000 }, (_, i) => ({ key: `k${i}`, value: 'x'.repeat(500) + i })))
    const zip = await backupOf(src)
    expect(calls).toBeGreaterThan(1)
    const dst = await fresh()
    expect(await dst.restoreBackup(zip)).toMatchObject({ restored: 3000 })
    // fflate's own reader agrees with ours on every member.
    const members = unzipSync(zip)
    expect(Object.keys(members).filter((name) => name.startsWith('records/'))).toHaveLength(calls)
    for (const m of [src, dst]) await m.close()
  })

  it('record files inflated by an injected inflater (the browser lends its compression workers), given bytes of their own to take', async () => {
    const src = await fresh()
    await src.putMany(Array.from({ length: 3000 }, (_, i) => ({ key: `k${i}`, value: 'y'.repeat(500) + i })))
    const zip = await backupOf(src)
    const before = await sha256Hex(zip)
    let calls = 0
    let refuse = false
    // Takes each payload's buffer, as a worker's postMessage transfer does: a view of the caller's
    // backup would leave it detached.
    const inflate: Inflater = (payloads) =>
      Promise.all(
        payloads.map((payload) => {
          calls++
          const { data, size } = structuredClone(payload, { transfer: [payload.data.buffer as ArrayBuffer] })
          return refuse ? Promise.resolve(undefined) : inflateChecked({ data, size })
        }),
      )
    const dst = await createMemory({ ...plainLayers, maintenanceIntervalMs: 0, stores: { inflate } })
    expect(await dst.restoreBackup(zip)).toMatchObject({ restored: 3000 })
    // Every record file twice (checked, then applied), none inflated here.
    const recordFiles = Object.keys(unzipSync(zip)).filter((name) => name.startsWith('records/')).length
    expect(recordFiles).toBeGreaterThan(1)
    expect(calls).toBe(2 * recordFiles)
    expect(await dst.get('k2999')).toBe('y'.repeat(500) + 2999)
    expect(await sha256Hex(zip)).toBe(before)
    // An inflater that says a payload does not inflate to its size: refused, nothing changed.
    refuse = true
    await dst.put('k1', 'changed')
    await expect(dst.restoreBackup(zip)).rejects.toMatchObject({ code: 'BACKUP_INVALID', message: expect.stringMatching(/does not inflate/) })
    expect(await dst.get('k1')).toBe('changed')
    for (const m of [src, dst]) await m.close()
  })

  it('closes a record file once it is full, not at the end of a read chunk (its bytes are what a backup holds at once)', async () => {
    const mem = await fresh()
    // 3,000 records of ~2 KB: a chunk of 1,024 of them is ~2 MiB, twice a file's target.
    await mem.putMany(Array.from({ length: 3000 }, (_, i) => ({ key: `k${i}`, value: 'y'.repeat(2000) + i })))
    const members = unzipSync(await backupOf(mem))
    const files = Object.entries(members).filter(([name]) => name.startsWith('records/'))
    expect(files.length).toBeGreaterThanOrEqual(6)
    for (const [, bytes] of files) expect(bytes.byteLength).toBeLessThan(RECORD_FILE_TARGET + 4096)
    // Later files are written in the buffers of earlier ones: every value reads back as it was.
    const dst = await fresh()
    expect(await dst.restoreBackup(zipSync(members))).toMatchObject({ restored: 3000 })
    for (const i of [0, 1023, 1024, 2999]) expect(await dst.get(`k${i}`)).toBe('y'.repeat(2000) + i)
    for (const m of [mem, dst]) await m.close()
  })

  it("a record file laid out in an earlier file's buffer is byte for byte a fresh one", () => {
    const meta = (i: number) => putMeta({ key: `k${i}` })
    const fresh = new RecordFileBuilder()
    const dirty = new ArrayBuffer(RecordFileBuilder.CAPACITY)
    new Uint8Array(dirty).fill(0xff)
    const reused = new RecordFileBuilder(dirty)
    for (const builder of [fresh, reused]) for (let i = 0; i < 50; i++) builder.add(meta(i), strToU8(`value ${i}`))
    expect(reused.finish()).toEqual(fresh.finish())
    expect(reused.finish().buffer).toBe(dirty)
    // A buffer of another size is not used.
    expect(new RecordFileBuilder(new ArrayBuffer(16)).finish().buffer.byteLength).toBe(RecordFileBuilder.CAPACITY)
  })
})

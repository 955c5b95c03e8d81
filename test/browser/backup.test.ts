import { unzipSync, zipSync, strFromU8, strToU8 } from 'fflate'
import { describe, expect, it } from 'vitest'
import { openMemory, type RemoteMemory } from '../../src/index.ts'

const plain = { policy: { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' as const } } }, maintenanceIntervalMs: 0 }
const unique = (what: string) => `${what}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`

const bytesOf = async (stream: ReadableStream<Uint8Array>) => new Uint8Array(await new Response(stream).arrayBuffer())

async function contents(mem: RemoteMemory): Promise<unknown[]> {
  const entries = (await mem.query({})).sort((a, b) => (a.key < b.key ? -1 : 1))
  return Promise.all(entries.map(async (e) => [e.key, e.type, e.importance, e.tags, e.createdAt, await mem.peek(e.key)]))
}

describe('backups through the worker, in Chromium (IndexedDB + OPFS)', () => {
  it('a backup streams to the page, and restores from a File and from a stream, every tier and a vector', async () => {
    const src = await openMemory({ name: unique('backup-src'), ...plain })
    await src.putMany(
      Array.from({ length: 900 }, (_, i) => ({
        key: `m${i}`,
        value: { i, text: `message ${i} `.repeat(1 + (i % 7)), at: new Date(i) },
        tier: (['hot', 'warm', 'cold'] as const)[i % 3],
        tags: i % 2 ? ['odd'] : [],
        importance: (i % 10) / 10,
      })),
    )
    await src.put('v', 'has a vector', { vector: new Float32Array([0, 1, 0, 0]) })
    const progress: Array<[number, number]> = []
    const zip = await bytesOf(await src.backup({ onProgress: (done, total) => progress.push([done, total]) }))
    expect(progress.at(-1)).toEqual([902, 902]) // 901 entries and the vector
    expect(JSON.parse(strFromU8(unzipSync(zip)['manifest.json']!))).toMatchObject({ kind: 'full', counts: { entries: 902 } })

    const fromFile = await openMemory({ name: unique('backup-file'), ...plain })
    const file = new File([zip as Uint8Array<ArrayBuffer>], 'memory.zip', { type: 'application/zip' })
    const restoring: Array<[number, number]> = []
    expect(await fromFile.restoreBackup(file, { onProgress: (done, total) => restoring.push([done, total]) })).toMatchObject({ restored: 902 })
    expect(restoring.at(-1)).toEqual([902, 902])
    expect(await contents(fromFile)).toEqual(await contents(src))
    expect((await fromFile.recall(new Float32Array([0, 1, 0, 0]), { k: 1 })).map((h) => h.key)).toEqual(['v'])

    // The backup piped straight from one memory into another: the stream crosses to the second worker.
    const piped = await openMemory({ name: unique('backup-stream'), ...plain })
    await piped.restoreBackup(await src.backup())
    expect(await contents(piped)).toEqual(await contents(src))
    for (const m of [src, fromFile, piped]) await m.close()
  })

  it('an incremental chain restores after a reload; a tampered backup changes nothing', async () => {
    const name = unique('backup-chain')
    let src = await openMemory({ name, ...plain })
    await src.putMany(Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: i })))
    const full = await bytesOf(await src.backup())
    await src.close()
    src = await openMemory({ name, ...plain })
    await src.put('k0', 'changed')
    await src.delete('k1')
    const inc = await bytesOf(await src.backup({ incremental: true }))
    expect(JSON.parse(strFromU8(unzipSync(inc)['manifest.json']!))).toMatchObject({ kind: 'incremental', counts: { entries: 1, deletes: 1 } })

    const target = await openMemory({ name: unique('backup-target'), ...plain })
    await target.put('mine', 'stays')
    const files = unzipSync(inc)
    files['records/000001.rec']![10]! ^= 0xff
    await expect(target.restoreBackup([full, zipSync(files)])).rejects.toMatchObject({ code: 'BACKUP_INVALID' })
    await expect(target.restoreBackup([inc, full])).rejects.toMatchObject({ code: 'BACKUP_INVALID' })
    expect((await target.query({})).map((e) => e.key)).toEqual(['mine'])

    await target.restoreBackup([full, inc])
    const expected = await contents(src)
    const got = await contents(target)
    expect(got.filter((row) => (row as unknown[])[0] !== 'mine')).toEqual(expected)
    expect(await target.get('k1')).toBeUndefined()
    for (const m of [src, target]) await m.close()
  })

  it('a manifest with a __proto__ key is refused', async () => {
    const src = await openMemory({ name: unique('backup-proto'), ...plain })
    await src.put('a', 1)
    const files = unzipSync(await bytesOf(await src.backup()))
    files['manifest.json'] = strToU8(strFromU8(files['manifest.json']!).replace('{', '{"__proto__":{"x":1},'))
    await expect(src.restoreBackup(zipSync(files))).rejects.toMatchObject({ code: 'BACKUP_INVALID' })
    await src.close()
  })
})

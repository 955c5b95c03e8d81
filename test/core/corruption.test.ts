import { describe, expect, it } from 'vitest'
import { TiermemError, type EntryInfo, type Memory } from '../../src/core/index.ts'
import { memoryStoreData, type MemoryStoreData } from '../../src/core/store/memory-store.ts'
import { fakeClock, openOver as openOverData } from './helpers.ts'

/**
 * Damaged bytes, one at a time, in every stored record of a small memory: its metadata (journal
 * chunks, snapshot parts, the checkpoint pointer) and its values (warm pages, warm values stored
 * alone, cold records). After each, the memory must open, and every entry must read back exactly
 * as it was or answer CORRUPT and be listed in stats().integrity: never a silent change, never a
 * raw error, never a deleted entry back.
 */

interface Expected {
  namespace: string
  key: string
  value: unknown
  info: Pick<EntryInfo, 'type' | 'layer' | 'importance' | 'tags' | 'refCount' | 'evictable'>
}

const clock = fakeClock()
const open = (warm: MemoryStoreData, cold: MemoryStoreData) => openOverData(warm, cold, clock)

async function buildSmallMemory(): Promise<{ warm: MemoryStoreData; cold: MemoryStoreData; expected: Expected[] }> {
  const warm = memoryStoreData()
  const cold = memoryStoreData()
  const mem = await open(warm, cold)
  await mem.putMany([
    { key: 'paged1', value: { text: 'first of a page' }, type: 'message', tags: ['chat'] },
    { key: 'paged2', value: [1, 2, 3], type: 'fact', importance: 0.9, tier: 'warm' },
  ])
  await mem.put('cold', 'kept compressed', { tier: 'cold', type: 'summary' })
  await mem.put('held', 'retained', { evictable: false })
  await mem.retain('held')
  await mem.put('gone', 'deleted later')
  // Enough journal to make a checkpoint: the snapshot parts and the pointer then exist too.
  for (let round = 0; round < 3; round++) await mem.putMany(Array.from({ length: 2000 }, (_, i) => ({ key: 'churn', value: round * 2000 + i })))
  await mem.delete('churn')
  // A journal tail after the checkpoint: an overwrite, a delete, an alone value, another namespace.
  await mem.put('paged1', { text: 'overwritten' }, { type: 'message', tags: ['chat', 'edited'] })
  await mem.delete('gone')
  await mem.put('alone', 'a lone put is stored alone', { tier: 'warm' })
  await mem.put('other', 42, { namespace: 'agent-2', importance: 0.2 })
  const keys: Array<[string, string]> = [
    ['default', 'paged1'],
    ['default', 'paged2'],
    ['default', 'cold'],
    ['default', 'held'],
    ['default', 'alone'],
    ['agent-2', 'other'],
  ]
  const expected: Expected[] = []
  for (const [namespace, key] of keys) {
    const info = (await mem.getEntry(key, { namespace }))!
    expected.push({ namespace, key, value: await mem.get(key, { namespace }), info: pick(info) })
  }
  await mem.close()
  return { warm, cold, expected }
}

function pick(info: EntryInfo): Expected['info'] {
  return { type: info.type, layer: info.layer, importance: info.importance, tags: info.tags, refCount: info.refCount, evictable: info.evictable }
}

function copy(data: MemoryStoreData): MemoryStoreData {
  return { spaces: { meta: new Map(data.spaces.meta), values: new Map(data.spaces.values) } }
}

const isCorrupt = (error: unknown) => error instanceof TiermemError && error.code === 'CORRUPT'

/** Opens the damaged copy and checks every entry; returns what went wrong, or undefined. */
async function check(warm: MemoryStoreData, cold: MemoryStoreData, expected: Expected[]): Promise<string | undefined> {
  let mem: Memory
  try {
    mem = await open(warm, cold)
  } catch (error) {
    return `open failed: ${error instanceof TiermemError ? error.code : 'raw'} ${String(error)}`
  }
  try {
    for (const e of expected) {
      const ref = { namespace: e.namespace }
      const read = await mem.get(e.key, ref).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      )
      if ('error' in read) {
        if (!isCorrupt(read.error)) return `get ${e.key}: ${String(read.error)}`
        const listed = (await mem.stats()).integrity.entries.some((d) => d.key === e.key && d.namespace === e.namespace)
        if (!listed) return `${e.key} answered CORRUPT but is not listed in stats().integrity`
        continue
      }
      if (JSON.stringify(read.value) !== JSON.stringify(e.value)) return `${e.key} reads ${JSON.stringify(read.value)}, was ${JSON.stringify(e.value)}`
      const info = await mem.getEntry(e.key, ref)
      if (!info || JSON.stringify(pick(info)) !== JSON.stringify(e.info)) return `${e.key}'s metadata changed: ${JSON.stringify(info && pick(info))}`
    }
    const listed = [...(await mem.query({}))].map((i) => `${i.namespace}/${i.key}`)
    const known = new Set(expected.map((e) => `${e.namespace}/${e.key}`))
    const extra = listed.filter((k) => !known.has(k))
    if (extra.length > 0) return `entries that were never there or were deleted are back: ${extra.join(', ')}`
    return undefined
  } catch (error) {
    return `raw error: ${String(error)}`
  } finally {
    await mem.close()
  }
}

describe('damaged bytes never change an entry silently', () => {
  it('flips every byte of every stored record, one at a time', { timeout: 120_000 }, async () => {
    const { warm, cold, expected } = await buildSmallMemory()
    expect([...warm.spaces.meta.keys()].some((k) => k.startsWith('s:'))).toBe(true)
    expect(await check(warm, cold, expected)).toBeUndefined()
    const failures: string[] = []
    let flips = 0
    const targets: Array<{ data: MemoryStoreData; space: 'meta' | 'values'; name: string }> = [
      { data: warm, space: 'meta', name: 'warm meta' },
      { data: warm, space: 'values', name: 'warm values' },
      { data: cold, space: 'values', name: 'cold values' },
    ]
    for (const { data, space, name } of targets) {
      for (const [key, bytes] of data.spaces[space]) {
        for (let i = 0; i < bytes.byteLength; i++) {
          const damaged = new Uint8Array(bytes)
          damaged[i]! ^= 0xff
          const image = copy(data)
          image.spaces[space].set(key, damaged)
          const problem = await check(data === warm ? image : copy(warm), data === cold ? image : copy(cold), expected)
          flips++
          if (problem) failures.push(`${name} ${JSON.stringify(key)} byte ${i}: ${problem}`)
          if (failures.length >= 10) break
        }
      }
    }
    expect(failures).toEqual([])
    expect(flips).toBeGreaterThan(1000)
    console.log(`corruption: ${flips} single-byte flips, each reopened and checked`)
  })

  it('a damaged journal record reports its entries, raises an alert for the first listener, and a put or delete replaces them', async () => {
    const warm = memoryStoreData()
    const cold = memoryStoreData()
    let mem = await open(warm, cold)
    await mem.put('a', 'one')
    await mem.put('b', 'two')
    await mem.close()
    // Damage the second journal chunk's body: it describes 'b' only.
    const chunks = [...warm.spaces.meta.keys()].filter((k) => k.startsWith('j:')).sort()
    const bytes = new Uint8Array(warm.spaces.meta.get(chunks[1]!)!)
    bytes[12]! ^= 0xff
    warm.spaces.meta.set(chunks[1]!, bytes)
    mem = await open(warm, cold)
    const alerts: unknown[] = []
    await mem.on('alert', (a) => alerts.push(a))
    await Promise.resolve()
    expect(alerts).toMatchObject([{ name: 'integrity', severity: 'critical', detail: { entries: [{ key: 'b', what: 'metadata' }] } }])
    expect(await mem.get('a')).toBe('one')
    await expect(mem.get('b')).rejects.toMatchObject({ code: 'CORRUPT' })
    await expect(mem.has('b')).rejects.toMatchObject({ code: 'CORRUPT' })
    expect((await mem.stats()).integrity).toMatchObject({ corruptRecords: 1, corruptKeys: ['b'] })
    await mem.put('b', 'again')
    expect(await mem.get('b')).toBe('again')
    expect((await mem.stats()).integrity.corruptKeys).toEqual([])
    await mem.close()
  })
})

describe('metadata records', () => {
  it('locate every item whatever msgpack type it holds, so each can be checked alone', async () => {
    const { encodeMetaRecord, decodeMetaRecord, DamagedItem } = await import('../../src/core/persistence/meta-record.ts')
    const items = [
      [1, -1, 200, -200, 70_000, -70_000, 2 ** 40, 0.5, 1e300, null, true, false, undefined],
      'x'.repeat(40),
      'y'.repeat(300),
      'z'.repeat(70_000),
      ['nested', ['deeper', 2]],
      { map: 1, of: 'fields' },
      new Uint8Array(300),
      new Uint8Array(70_000),
      Array.from({ length: 20 }, (_, i) => i),
    ]
    const keys = items.map((_, i) => `k${i}`)
    const bytes = encodeMetaRecord(items, keys)
    expect(decodeMetaRecord(bytes, 'test', () => undefined)).toEqual(items)
    // Damage the body's last item: the directory still finds every other item on its own.
    const damaged = new Uint8Array(bytes)
    damaged[6 + bytes.byteLength / 2]! ^= 0xff
    const read = decodeMetaRecord(damaged, 'test', () => undefined)
    expect(read.filter((item) => item instanceof DamagedItem)).toHaveLength(1)
    expect(read.filter((item) => !(item instanceof DamagedItem))).toHaveLength(items.length - 1)
  })
})

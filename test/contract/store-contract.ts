import { describe, expect, it } from 'vitest'
import { TiermemError } from '../../src/core/api/errors.ts'
import type { Store, StoreOp } from '../../src/core/store/store.ts'

export interface StoreFactory {
  /** A new, empty store. */
  create(): Promise<Store>
  /** Where the store is persistent: a new store over the same data as `store` (which is closed first). */
  reopen?(store: Store): Promise<Store>
}

const bytes = (...values: number[]) => new Uint8Array(values)
const put = (key: string, value: Uint8Array, space: 'meta' | 'values' = 'values'): StoreOp => ({ type: 'put', space, key, value })
const del = (key: string, space: 'meta' | 'values' = 'values'): StoreOp => ({ type: 'delete', space, key })

/**
 * The store contract: every store (memory, IndexedDB, OPFS, edge stores) and every wrapper
 * must pass this suite. It reads the store's declared capabilities instead of skipping tests.
 */
export function defineStoreContract(name: string, factory: StoreFactory): void {
  describe(`store contract: ${name}`, () => {
    it('reads back what it stored, byte for byte, and undefined for missing keys', async () => {
      const store = await factory.create()
      const all = new Uint8Array(256).map((_, i) => i)
      await store.batch([put('a', bytes(1, 2, 3)), put('all', all), put('empty', new Uint8Array(0))])
      const [a, missing, got, empty] = await store.getMany('values', ['a', 'missing', 'all', 'empty'])
      expect(a).toEqual(bytes(1, 2, 3))
      expect(missing).toBeUndefined()
      expect(got).toEqual(all)
      expect(empty).toEqual(new Uint8Array(0))
      await store.close()
    })

    it('takes the background hint of housekeeping calls and answers them the same (many records: stores that slice do)', async () => {
      const store = await factory.create()
      const count = Math.min(600, store.capabilities.maxBatchSize)
      const value = (i: number) => new Uint8Array(1024).fill(i % 251)
      const keys = Array.from({ length: count }, (_, i) => `bg${i}`)
      await store.batch(
        keys.map((key, i) => put(key, value(i))),
        { background: true },
      )
      const read = await store.getMany('values', keys, { background: true })
      expect(read).toEqual(keys.map((_, i) => value(i)))
      expect(await store.getMany('values', keys)).toEqual(read)
      await store.close()
    })

    it('keeps spaces apart', async () => {
      const store = await factory.create()
      await store.batch([put('k', bytes(1), 'meta'), put('k', bytes(2), 'values')])
      expect((await store.getMany('meta', ['k']))[0]).toEqual(bytes(1))
      expect((await store.getMany('values', ['k']))[0]).toEqual(bytes(2))
      await store.batch([del('k', 'meta')])
      expect((await store.getMany('meta', ['k']))[0]).toBeUndefined()
      expect((await store.getMany('values', ['k']))[0]).toEqual(bytes(2))
      await store.close()
    })

    it('applies ops in order within a batch: last write wins, delete after put removes', async () => {
      const store = await factory.create()
      await store.batch([put('x', bytes(1)), put('x', bytes(2)), put('y', bytes(3)), del('y'), del('never')])
      expect(await store.getMany('values', ['x', 'y'])).toEqual([bytes(2), undefined])
      await store.close()
    })

    it('copies what it keeps and what it hands out', async () => {
      const store = await factory.create()
      const value = bytes(7, 7, 7)
      await store.batch([put('c', value)])
      value[0] = 0
      const [first] = await store.getMany('values', ['c'])
      first![1] = 0
      expect((await store.getMany('values', ['c']))[0]).toEqual(bytes(7, 7, 7))
      await store.close()
    })

    it('stores a view of a larger buffer as just the view', async () => {
      const store = await factory.create()
      const big = new Uint8Array(1000).fill(9)
      await store.batch([put('view', big.subarray(10, 14))])
      expect((await store.getMany('values', ['view']))[0]).toEqual(bytes(9, 9, 9, 9))
      await store.close()
    })

    it('keeps views of one large shared buffer as their own bytes, in a batch of many', async () => {
      // As a Node Buffer pool or an encoder's scratch buffer hands them out: a store that keeps
      // or serializes the whole buffer behind a view writes far more than the value (and Deno KV
      // refuses it past 64 KiB).
      const store = await factory.create()
      const shared = new Uint8Array(256 * 1024).map((_, i) => i & 255)
      const n = Math.min(store.capabilities.maxBatchSize, 1500)
      await store.batch(Array.from({ length: n }, (_, i) => put(`v${i}`, shared.subarray(i * 100, i * 100 + 100))))
      const got = await store.getMany('values', ['v0', `v${n - 1}`])
      expect(got.map((v) => v?.byteLength)).toEqual([100, 100])
      expect(got[1]![0]).toBe(((n - 1) * 100) & 255)
      expect((await store.stats()).logicalBytes).toBeLessThan(n * 100 * 2)
      await store.close()
    })

    it('rejects a batch with a bad op and, when atomic, applies none of it', async () => {
      const store = await factory.create()
      await store.batch([put('keep', bytes(1))])
      const bad = [put('new', bytes(2)), del('keep'), { type: 'put', space: 'values', key: 'bad', value: 'not bytes' } as unknown as StoreOp]
      await expect(store.batch(bad)).rejects.toBeInstanceOf(TiermemError)
      if (store.capabilities.atomicBatch) {
        expect(await store.getMany('values', ['keep', 'new'])).toEqual([bytes(1), undefined])
      }
      await expect(store.batch([{ type: 'put', space: 'nope', key: 'k', value: bytes(1) } as unknown as StoreOp])).rejects.toMatchObject({
        code: 'INVALID_OPTION',
      })
      await store.close()
    })

    it('scans in key order, page by page', async () => {
      const store = await factory.create()
      const keys = Array.from({ length: 25 }, (_, i) => `k${String(i).padStart(2, '0')}`)
      await store.batch([...keys].reverse().map((k, i) => put(k, bytes(i))))
      await store.batch([put('other', bytes(1), 'meta')])
      const seen: string[] = []
      let after: string | undefined
      for (;;) {
        const page = await store.scan('values', after === undefined ? { limit: 10 } : { after, limit: 10 })
        seen.push(...page.map(([k]) => k))
        if (page.length < 10) break
        after = page[page.length - 1]![0]
      }
      expect(seen).toEqual(keys)
      expect((await store.scan('meta')).map(([k]) => k)).toEqual(['other'])
      // A key range: after and before are both exclusive.
      expect((await store.scan('values', { after: 'k03', before: 'k07' })).map(([k]) => k)).toEqual(['k04', 'k05', 'k06'])
      expect((await store.scan('values', { before: 'k02' })).map(([k]) => k)).toEqual(['k00', 'k01'])
      expect(await store.scan('values', { after: 'k09', before: 'k05' })).toEqual([])
      if (store.keys) {
        // The optional keys(): the same keys, pages and ranges as scan(), without values.
        expect(await store.keys('values', { limit: 10 })).toEqual(keys.slice(0, 10))
        expect(await store.keys('values', { after: 'k03', before: 'k07' })).toEqual(['k04', 'k05', 'k06'])
        expect(await store.keys('meta')).toEqual(['other'])
      }
      await store.close()
    })

    it('takes range deletes only where it declares them: exactly the keys strictly inside, atomically with the rest', async () => {
      const store = await factory.create()
      const keys = ['r1', 'r2', 'r2x', 'r3', 'r4']
      await store.batch([...keys.map((k) => put(k, bytes(1))), put('r2', bytes(9), 'meta')])
      const range: StoreOp = { type: 'deleteRange', space: 'values', after: 'r1', before: 'r3' }
      if (!store.capabilities.rangeDeletes) {
        await expect(store.batch([range])).rejects.toMatchObject({ code: 'INVALID_OPTION' })
      } else {
        await expect(store.batch([{ type: 'deleteRange', space: 'values', after: 'r3', before: 'r1' }])).rejects.toMatchObject({ code: 'INVALID_OPTION' })
        await store.batch([put('r5', bytes(5)), range, put('r2', bytes(7))])
        const got = await store.getMany('values', [...keys, 'r5'])
        expect(got.map((v) => v?.[0])).toEqual([1, 7, undefined, 1, 1, 5])
        expect((await store.getMany('meta', ['r2']))[0]).toEqual(bytes(9))
      }
      expect((await store.getMany('values', ['r1', 'r4'])).map((v) => v?.[0])).toEqual([1, 1])
      await store.close()
    })

    it('accepts batches up to its declared maximum size', async () => {
      const store = await factory.create()
      const n = Math.min(store.capabilities.maxBatchSize, 500)
      await store.batch(Array.from({ length: n }, (_, i) => put(`b${i}`, bytes(i & 255))))
      const got = await store.getMany(
        'values',
        Array.from({ length: n }, (_, i) => `b${i}`),
      )
      expect(got.every((v, i) => v?.[0] === (i & 255))).toBe(true)
      await store.close()
    })

    it('reports its size', async () => {
      const store = await factory.create()
      await store.batch([put('s', new Uint8Array(1000))])
      const stats = await store.stats()
      expect(stats.logicalBytes).toBeGreaterThanOrEqual(1000)
      expect(stats.compressionRatio).toBeGreaterThan(0)
      expect(stats.deadRatio).toBeGreaterThanOrEqual(0)
      expect(stats.deadRatio).toBeLessThanOrEqual(1)
      await store.close()
    })

    it('refuses calls after close with CLOSED', async () => {
      const store = await factory.create()
      await store.close()
      await expect(store.getMany('values', ['a'])).rejects.toMatchObject({ code: 'CLOSED' })
      await expect(store.batch([put('a', bytes(1))])).rejects.toMatchObject({ code: 'CLOSED' })
    })

    if (factory.reopen) {
      const reopen = factory.reopen
      it('keeps its data across close and reopen', async () => {
        const store = await factory.create()
        await store.batch([put('p', bytes(4, 2)), put('m', bytes(1), 'meta')])
        await store.close()
        const again = await reopen(store)
        expect(again.capabilities.persistent).toBe(true)
        expect((await again.getMany('values', ['p']))[0]).toEqual(bytes(4, 2))
        expect((await again.scan('meta')).map(([k]) => k)).toEqual(['m'])
        await again.close()
      })
    }
  })
}

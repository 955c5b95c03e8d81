import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Miniflare } from 'miniflare'
import { bundleTestWorker, objectStub, startWorkerd } from './cloudflare/workerd.ts'

/** What the tests call on the objects over RPC (TiermemObject's methods, and QuickObject's test hooks). */
interface ObjectStub {
  put(key: string, value: unknown, options?: Record<string, unknown>): Promise<{ key: string }>
  get(key: string): Promise<unknown>
  getMany(keys: string[]): Promise<unknown[]>
  delete(key: string): Promise<boolean>
  stats(): Promise<{ tiers: Record<'hot' | 'warm' | 'cold', { count: number }> }>
  rows(table: string, space: string): Promise<string[]>
  alarmAt(): Promise<number | null>
  evict(): Promise<void>
  together(calls: Array<{ put: string; value: unknown } | { delete: string }>): Promise<void>
}

/** RPC results reach Node as lazy proxies; this makes them plain data to compare. */
const plain = async <T>(value: Promise<T>): Promise<T> => {
  const got = await value
  return got === undefined ? got : (JSON.parse(JSON.stringify(got)) as T)
}

let script: string
let persist: string
beforeAll(async () => {
  script = await bundleTestWorker()
  persist = mkdtempSync(join(tmpdir(), 'tiermem-do-'))
}, 60_000)
afterAll(() => rmSync(persist, { recursive: true, force: true }))

describe('TiermemObject in workerd', () => {
  let mf: Miniflare
  afterAll(async () => mf?.dispose())

  it('loses nothing acknowledged when the object is evicted, with puts and deletes issued together', async () => {
    mf = startWorkerd(script, { persist })
    let stub = await objectStub<ObjectStub>(mf, 'QUICK', 'evict-me')
    const values = Array.from({ length: 60 }, (_, i) => ({ i, text: `value ${i}`.repeat(i % 7) }))
    // In 'assets', the layer that keeps everything ('interact' holds 30 by design and would clean
    // the rest up). Many calls in flight over RPC at once (each a request of its own, so in no
    // set order: distinct keys)…
    await Promise.all(values.map((value, i) => stub.put(`k${i}`, value, { layer: 'assets' })))
    // …then calls on the same keys issued together at the object: the engine must keep their order.
    await stub.together([
      { put: 'k3', value: 'again' },
      { delete: 'k3' },
      { put: 'k4', value: 'first' },
      { put: 'k4', value: 'overwritten' },
      ...values.map((value, i) => ({ put: `k${i}`, value })).filter((_, i) => i > 4),
    ])
    await stub.evict().catch(() => undefined)
    stub = await objectStub<ObjectStub>(mf, 'QUICK', 'evict-me')
    const got = await plain(stub.getMany(values.map((_, i) => `k${i}`)))
    const expected = values.map((value, i) => (i === 3 ? null : i === 4 ? 'overwritten' : value))
    expect(got.map((v) => v ?? null)).toEqual(expected)
  })

  it('keeps every acknowledged entry across a restart of the runtime (storage on disk)', async () => {
    await mf.dispose()
    mf = startWorkerd(script, { persist })
    const stub = await objectStub<ObjectStub>(mf, 'QUICK', 'evict-me')
    expect(await plain(stub.get('k10'))).toEqual({ i: 10, text: 'value 10'.repeat(3) })
    expect(await plain(stub.get('k3'))).toBeUndefined()
  })

  it('runs maintenance from its alarm: an expired entry leaves storage with nobody calling', async () => {
    const stub = await objectStub<ObjectStub>(mf, 'QUICK', 'alarm')
    await stub.put('short', 'x'.repeat(100), { ttlMs: 150 })
    await stub.put('long', 'y'.repeat(100))
    expect(await plain(stub.rows('tiermem_warm', 'values'))).toEqual(['default\u0000long', 'default\u0000short'])
    expect(await stub.alarmAt()).not.toBeNull()
    // No request in between: only the alarm can wake the object's maintenance.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(await plain(stub.rows('tiermem_warm', 'values'))).toEqual(['default\u0000long'])
    expect(await stub.alarmAt()).not.toBeNull()
  })

  it('keeps the cold tier in R2 when given a bucket, and reads it back after an eviction', async () => {
    interface R2Stub extends ObjectStub {
      bucketKeys(): Promise<string[]>
      coldRows(): Promise<number>
    }
    let stub = await objectStub<R2Stub>(mf, 'R2OBJ', 'r2-cold')
    const values = Array.from({ length: 20 }, (_, i) => ({ i, text: `archived note ${i} `.repeat(50) }))
    await Promise.all(values.map((value, i) => stub.put(`c${i}`, value, { tier: 'cold', layer: 'assets' })))
    const keys = await plain(stub.bucketKeys())
    expect(keys.filter((k) => k.includes('/values/'))).toHaveLength(20)
    expect(await stub.coldRows()).toBe(0)
    await stub.evict().catch(() => undefined)
    stub = await objectStub<R2Stub>(mf, 'R2OBJ', 'r2-cold')
    expect(await plain(stub.getMany(values.map((_, i) => `c${i}`)))).toEqual(values)
  })

  it('serves the engine over RPC with the same answers as over HTTP', async () => {
    const stub = await objectStub<ObjectStub>(mf, 'TIERMEM', 'rpc')
    expect(await plain(stub.put('r', { via: 'rpc' }))).toMatchObject({ key: 'r', namespace: 'default' })
    const response = await mf.dispatchFetch('http://edge.test/v1/rpc/entries/r', { headers: { authorization: 'Bearer token-admin-all' } })
    expect(await response.json()).toMatchObject({ value: { via: 'rpc' }, entry: { key: 'r', accessCount: 1 } })
  })
})

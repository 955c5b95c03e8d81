import { TiermemError } from '../../core/api/errors.ts'
import { copyBytes } from '../../core/persistence/codec.ts'
import type { ScanOptions, Store, StoreOp, StoreSpace, StoreStats } from '../../core/store/store.ts'
import { validateBatch } from '../../core/store/validate-batch.ts'
import { inParallel } from '../in-parallel.ts'
import type { R2Bucket } from './platform.ts'

/** Requests in flight at once: a batch of thousands is never thousands of parallel requests. */
const PARALLEL = 8
/** R2 deletes at most 1,000 keys a call. */
const DELETE_KEYS = 1000
/** R2 lists at most 1,000 objects a page. */
const LIST_LIMIT = 1000

/**
 * A cold store in an R2 bucket: one object per record. Not atomic (the engine needs atomic
 * batches of the warm store only: a tier move writes cold first and flips the entry in warm
 * after, so a crash between leaves an unnamed cold object the next open sweeps). Ops of one batch
 * on one key apply in order; different keys go out at most 8 requests at a time.
 *
 * Object names: `<prefix>/<space>/<key>`, where characters below U+0003 (the engine's keys hold a
 * NUL between namespace and key) become U+0002 and a digit: an escape that keeps R2's listing
 * order the keys' order, so scans and their `after` / `before` work on the names.
 */
export function r2Store(bucket: R2Bucket, options: { prefix?: string } = {}): Store {
  const prefix = options.prefix ?? 'tiermem'
  if (typeof prefix !== 'string' || prefix.length === 0 || prefix.includes('/'))
    throw new TiermemError('INVALID_OPTION', 'an R2 prefix is a non-empty string without /')
  const base = (space: StoreSpace) => `${prefix}/${space}/`
  const name = (space: StoreSpace, key: string) => base(space) + escapeKey(key)
  let closed = false
  const assertOpen = () => {
    if (closed) throw new TiermemError('CLOSED', 'this R2 store is closed; open a new one')
  }

  const page = async (space: StoreSpace, { after, before, limit = LIST_LIMIT }: ScanOptions): Promise<Array<{ key: string; size: number }>> => {
    const want = Math.max(1, limit)
    const out: Array<{ key: string; size: number }> = []
    let cursor: string | undefined
    for (;;) {
      const listed = await bucket.list({
        prefix: base(space),
        limit: Math.min(LIST_LIMIT, want - out.length),
        ...(cursor ? { cursor } : after !== undefined ? { startAfter: name(space, after) } : {}),
      })
      for (const object of listed.objects) {
        const key = unescapeKey(object.key.slice(base(space).length))
        if (before !== undefined && !(key < before)) return out
        out.push({ key, size: object.size })
        if (out.length >= want) return out
      }
      if (!listed.truncated || !listed.cursor) return out
      cursor = listed.cursor
    }
  }

  const everything = async (space: StoreSpace): Promise<Array<{ key: string; size: number }>> => {
    const out: Array<{ key: string; size: number }> = []
    for (let after: string | undefined; ;) {
      const listed = await page(space, after === undefined ? {} : { after })
      out.push(...listed)
      if (listed.length < LIST_LIMIT) return out
      after = listed[listed.length - 1]!.key
    }
  }

  return {
    backend: 'r2',
    capabilities: { atomicBatch: false, maxBatchSize: 1000, persistent: true },

    async getMany(space, keys) {
      assertOpen()
      return inParallel(keys, PARALLEL, async (key) => {
        const object = await bucket.get(name(space, key))
        return object ? new Uint8Array(await object.arrayBuffer()) : undefined
      })
    },

    async batch(ops: readonly StoreOp[]) {
      assertOpen()
      validateBatch(ops)
      // Only the last op on each key matters, and keys are independent: apply those.
      const last = new Map<string, StoreOp>()
      for (const op of ops) {
        if (op.type === 'deleteRange') throw new TiermemError('INVALID_OPTION', `the R2 store does not take 'deleteRange' ops`)
        const object = name(op.space, op.key)
        last.delete(object)
        last.set(object, op)
      }
      const deletes = [...last].filter(([, op]) => op.type === 'delete').map(([object]) => object)
      const puts = [...last].filter(([, op]) => op.type === 'put') as Array<[string, Extract<StoreOp, { type: 'put' }>]>
      await inParallel(puts, PARALLEL, ([object, op]) => bucket.put(object, copyBytes(op.value)))
      for (let at = 0; at < deletes.length; at += DELETE_KEYS) await bucket.delete(deletes.slice(at, at + DELETE_KEYS))
    },

    async scan(space, scan = {}) {
      assertOpen()
      const listed = await page(space, scan)
      const values = await inParallel(listed, PARALLEL, async ({ key }) => {
        const object = await bucket.get(name(space, key))
        return object ? new Uint8Array(await object.arrayBuffer()) : undefined
      })
      // An object deleted between the listing and the read is left out.
      return listed.flatMap(({ key }, i): Array<[string, Uint8Array]> => (values[i] ? [[key, values[i]]] : []))
    },

    async keys(space, scan = {}) {
      assertOpen()
      return (await page(space, scan)).map(({ key }) => key)
    },

    async storedSizes(space, keys) {
      assertOpen()
      const sizes = new Map((await everything(space)).map(({ key, size }) => [key, size]))
      return keys.map((key) => sizes.get(key))
    },

    /** Lists every object (R2 keeps no running total); the engine asks rarely and caches. */
    async stats(): Promise<StoreStats> {
      assertOpen()
      let bytes = 0
      for (const space of ['meta', 'values'] as const) for (const { size } of await everything(space)) bytes += size
      return { storedBytes: bytes, logicalBytes: bytes, compressionRatio: 1, deadRatio: 0 }
    },

    async close() {
      closed = true
    },
  }
}

export function escapeKey(key: string): string {
  return key.replace(/[\u0000-\u0002]/g, (c) => '\u0002' + String(c.charCodeAt(0)))
}

export function unescapeKey(name: string): string {
  return name.replace(/\u0002([0-2])/g, (_, digit: string) => String.fromCharCode(Number(digit)))
}

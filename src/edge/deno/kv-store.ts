import { TiermemError } from '../../core/api/errors.ts'
import { concatBytes, ownBytes } from '../../core/persistence/codec.ts'
import { randomId } from '../../core/engine/random-id.ts'
import type { ScanOptions, Store, StoreOp, StoreSpace, StoreStats } from '../../core/store/store.ts'
import { validateBatch } from '../../core/store/validate-batch.ts'
import { commitInOrder, fitsOneCommit, keyBytes, KV_LIMITS, listAll, readKeys, type Mutation } from './kv-commits.ts'
import type { Kv, KvKey, KvListSelector } from './platform.ts'

/** A value too big for one KV value lives in parts; its record holds this instead. */
interface Pointer {
  id: string
  parts: number
  length: number
}

const isPointer = (value: unknown): value is Pointer =>
  typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && typeof (value as Pointer).id === 'string'

export interface DenoKvStoreOptions {
  /** Key prefix of this store's records; two stores over one KV need different prefixes. Default ['tiermem']. */
  prefix?: readonly string[]
}

/**
 * A store in Deno KV, within KV's limits (kv-commits.ts) and still atomic for any batch:
 *
 * - a value over 60 KiB is written in parts under a fresh id first, invisible until the batch's
 *   commit names it; a 'pending' mark beside the parts lets a reopen delete them if it never did;
 * - a batch that fits one commit is one `kv.atomic()`; a bigger one is written to a redo log, made
 *   to count by one atomic 'committed' mark, then applied; a reopen finishes a committed log and
 *   drops an uncommitted one. Reads wait while a log is being applied, so none sees half of it.
 *
 * Keys sort by UTF-8 bytes (code point order); the engine's own range keys are ASCII. Values are
 * copied into arrays of their own: a Node Buffer's slice() is a view of a shared pool, and KV
 * would serialize the whole pool with it (msgpackr's Buffers in Deno did, past KV's 64 KiB).
 */
export async function denoKvStore(kv: Kv, options: DenoKvStoreOptions = {}): Promise<Store> {
  const base: readonly string[] = options.prefix ?? ['tiermem']
  if (!Array.isArray(base) || base.some((p) => typeof p !== 'string')) throw new TiermemError('INVALID_OPTION', 'prefix is an array of strings')
  const record = (space: StoreSpace, key: string): KvKey => [...base, 'r', space, key]
  const bigKey = (space: StoreSpace, key: string): KvKey => [...base, 'big', space, key]
  const partKey = (id: string, i: number): KvKey => [...base, 'p', id, i]
  const pendingKey = (id: string): KvKey => [...base, 'pending', id]
  const logKey = (txn: string, i: number): KvKey => [...base, 'log', txn, i]
  const committedKey = (txn: string): KvKey => [...base, 'committed', txn]

  /** Which records hold parts now (space NUL key → pointer): so a batch knows which parts it frees without reading. */
  const big = new Map<string, Pointer>()
  let closed = false
  let writes: Promise<void> = Promise.resolve()
  let applying: Promise<void> | undefined

  const assertOpen = () => {
    if (closed) throw new TiermemError('CLOSED', 'this Deno KV store is closed; open a new one')
  }

  const partKeys = (p: Pointer) => Array.from({ length: p.parts }, (_, i) => partKey(p.id, i))

  const resolve = async (value: unknown): Promise<Uint8Array | undefined> => {
    if (value === undefined || value === null) return undefined
    if (value instanceof Uint8Array) return value
    if (!isPointer(value)) throw new TiermemError('CORRUPT', 'a Deno KV record is neither bytes nor a parts record; it is damaged')
    const parts = await readKeys(kv, partKeys(value))
    if (parts.some((part) => !(part instanceof Uint8Array))) throw new TiermemError('CORRUPT', `a value stored in parts (${value.id}) misses a part`)
    const joined = concatBytes(parts as Uint8Array[])
    if (joined.byteLength !== value.length)
      throw new TiermemError('CORRUPT', `a value stored in parts (${value.id}) has ${joined.byteLength} bytes, not ${value.length}`)
    return joined
  }

  /** Applies a committed redo log (at open, or when its batch was interrupted) and drops it. */
  const finishLog = async (txn: string): Promise<void> => {
    const entries = await listAll(kv, [...base, 'log', txn])
    const mutations = entries.map(({ value }) => value as Mutation)
    await commitInOrder(kv, mutations)
    await commitInOrder(kv, [...entries.map(({ key }) => ({ key })), { key: committedKey(txn) }])
  }

  // Recovery, in this order: finish committed logs (their mutations clear their parts' pending
  // marks), drop uncommitted logs, then delete every part still marked pending.
  const committed = new Set((await listAll(kv, [...base, 'committed'])).map(({ key }) => key[key.length - 1] as string))
  for (const txn of committed) await finishLog(txn)
  const orphanLogs = (await listAll(kv, [...base, 'log'])).filter(({ key }) => !committed.has(key[key.length - 2] as string))
  await commitInOrder(
    kv,
    orphanLogs.map(({ key }) => ({ key })),
  )
  for (const { key, value } of await listAll(kv, [...base, 'pending'])) {
    await commitInOrder(kv, [...(isPointer(value) ? partKeys(value).map((k) => ({ key: k })) : []), { key }])
  }
  for (const { key, value } of await listAll(kv, [...base, 'big'])) {
    if (isPointer(value)) big.set(`${String(key[key.length - 2])}\u0000${String(key[key.length - 1])}`, value)
  }

  const write = async (ops: readonly StoreOp[]): Promise<void> => {
    const mutations: Mutation[] = []
    const fresh: Array<{ pointer: Pointer; value: Uint8Array }> = []
    const freed: Pointer[] = []
    const after = new Map<string, Pointer | undefined>()
    for (const op of ops) {
      if (op.type === 'deleteRange') throw new TiermemError('INVALID_OPTION', `the Deno KV store does not take 'deleteRange' ops`)
      if (keyBytes(record(op.space, op.key)) > KV_LIMITS.keyBytes) {
        throw new TiermemError('INVALID_KEY', `a key of ${op.key.length} characters is too long for Deno KV (2 KiB of UTF-8 with its prefix)`)
      }
      const name = `${op.space}\u0000${op.key}`
      const old = after.has(name) ? after.get(name) : big.get(name)
      if (old) {
        freed.push(old)
        mutations.push({ key: pendingKey(old.id), value: old }, { key: bigKey(op.space, op.key) })
      }
      if (op.type === 'delete') {
        mutations.push({ key: record(op.space, op.key) })
        after.set(name, undefined)
      } else if (op.value.byteLength <= KV_LIMITS.valueBytes) {
        mutations.push({ key: record(op.space, op.key), value: ownBytes(op.value) })
        after.set(name, undefined)
      } else {
        const pointer: Pointer = { id: randomId(12), parts: Math.ceil(op.value.byteLength / KV_LIMITS.valueBytes), length: op.value.byteLength }
        fresh.push({ pointer, value: op.value })
        mutations.push({ key: record(op.space, op.key), value: pointer }, { key: bigKey(op.space, op.key), value: pointer }, { key: pendingKey(pointer.id) })
        after.set(name, pointer)
      }
    }
    // Parts first, each set marked pending until the batch's commit names it.
    if (fresh.length > 0) {
      await commitInOrder(
        kv,
        fresh.map(({ pointer }) => ({ key: pendingKey(pointer.id), value: pointer })),
      )
      for (const { pointer, value } of fresh) {
        await commitInOrder(
          kv,
          partKeys(pointer).map((key, i) => ({ key, value: ownBytes(value.subarray(i * KV_LIMITS.valueBytes, (i + 1) * KV_LIMITS.valueBytes)) })),
        )
      }
    }
    if (fitsOneCommit(mutations)) {
      await commitInOrder(kv, mutations)
    } else {
      const txn = randomId(12)
      await commitInOrder(
        kv,
        mutations.map((m, i) => ({ key: logKey(txn, i), value: m })),
      )
      await kv.atomic().set(committedKey(txn), mutations.length).commit()
      // From here the batch has happened: readers wait until it is all in place.
      const done = finishLog(txn)
      applying = done.catch(() => undefined)
      try {
        await done
      } finally {
        applying = undefined
      }
    }
    for (const [name, pointer] of after) {
      if (pointer) big.set(name, pointer)
      else big.delete(name)
    }
    // Parts nobody names any more; a crash here leaves them marked pending for the next open.
    for (const pointer of freed) await commitInOrder(kv, [...partKeys(pointer).map((key) => ({ key })), { key: pendingKey(pointer.id) }])
  }

  const page = async (space: StoreSpace, { after, before, limit = 1000 }: ScanOptions): Promise<Array<[string, unknown]>> => {
    const prefix = [...base, 'r', space]
    const selector: KvListSelector =
      after !== undefined && before !== undefined
        ? { start: [...prefix, after + '\u0000'], end: [...prefix, before] }
        : after !== undefined
          ? { prefix, start: [...prefix, after + '\u0000'] }
          : before !== undefined
            ? { prefix, end: [...prefix, before] }
            : { prefix }
    if (after !== undefined && before !== undefined && !(after < before)) return []
    const out: Array<[string, unknown]> = []
    for await (const entry of kv.list(selector, { limit: Math.max(1, Math.min(limit, 1000)) }))
      out.push([entry.key[entry.key.length - 1] as string, entry.value])
    return out
  }

  return {
    backend: 'deno-kv',
    capabilities: { atomicBatch: true, maxBatchSize: Number.MAX_SAFE_INTEGER, persistent: true },

    async getMany(space, keys) {
      assertOpen()
      if (applying) await applying
      const values = await readKeys(
        kv,
        keys.map((key) => record(space, key)),
      )
      return Promise.all(values.map(resolve))
    },

    batch(ops) {
      try {
        assertOpen()
        validateBatch(ops)
      } catch (error) {
        return Promise.reject(error)
      }
      // Batches apply one at a time, in the order they were issued.
      const run = writes.then(() => write(ops))
      writes = run.catch(() => undefined)
      return run
    },

    async scan(space, scan = {}) {
      assertOpen()
      if (applying) await applying
      const rows = await page(space, scan)
      const values = await Promise.all(rows.map(([, value]) => resolve(value)))
      return rows.map(([key], i): [string, Uint8Array] => [key, values[i]!])
    },

    async keys(space, scan = {}) {
      assertOpen()
      if (applying) await applying
      return (await page(space, scan)).map(([key]) => key)
    },

    /** Walks every record (KV keeps no running total); the engine asks rarely and caches. */
    async stats(): Promise<StoreStats> {
      assertOpen()
      let bytes = 0
      for await (const entry of kv.list({ prefix: [...base, 'r'] })) {
        bytes += entry.value instanceof Uint8Array ? entry.value.byteLength : isPointer(entry.value) ? entry.value.length : 0
      }
      return { storedBytes: bytes, logicalBytes: bytes, compressionRatio: 1, deadRatio: 0 }
    },

    async close() {
      closed = true
      await writes
    },
  }
}

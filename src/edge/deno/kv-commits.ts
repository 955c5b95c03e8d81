import { inParallel } from '../in-parallel.ts'
import type { Kv, KvKey } from './platform.ts'

/**
 * Deno KV's limits on one atomic commit (denokv_proto limits.rs): 1,000 mutations, 819,200 bytes
 * of keys and values, 81,920 bytes of keys; a value is at most 65,536 bytes and a read names at
 * most 10 keys. The store stays under each with a margin for the encoding's own bytes.
 */
export const KV_LIMITS = {
  mutations: 1000,
  commitBytes: 760 * 1024,
  commitKeyBytes: 72 * 1024,
  valueBytes: 60 * 1024,
  keyBytes: 2000,
  keysPerRead: 10,
} as const

/** A set (value given) or a delete (value undefined) of one KV key. */
export interface Mutation {
  key: KvKey
  value?: unknown
}

const encoder = new TextEncoder()

export function keyBytes(key: KvKey): number {
  let total = 0
  for (const part of key) total += 2 + (typeof part === 'string' ? encoder.encode(part).byteLength : part instanceof Uint8Array ? part.byteLength : 9)
  return total
}

/** What a value costs in a commit, over-estimated a little: bytes as they are, strings as UTF-8 at worst, 8 per number. */
export function valueBytes(value: unknown): number {
  if (value === undefined || value === null) return 1
  if (value instanceof Uint8Array) return value.byteLength + 8
  if (typeof value === 'string') return value.length * 3 + 4
  if (typeof value !== 'object') return 9
  let total = 4
  if (Array.isArray(value)) for (const item of value) total += valueBytes(item)
  else for (const [k, v] of Object.entries(value)) total += k.length + 2 + valueBytes(v)
  return total
}

/** Whether these mutations fit one atomic commit. */
export function fitsOneCommit(mutations: readonly Mutation[]): boolean {
  if (mutations.length > KV_LIMITS.mutations) return false
  let bytes = 0
  let keys = 0
  for (const m of mutations) {
    const k = keyBytes(m.key)
    keys += k
    bytes += k + valueBytes(m.value)
    if (bytes > KV_LIMITS.commitBytes || keys > KV_LIMITS.commitKeyBytes) return false
  }
  return true
}

/** Mutations in order, split into commits that each stay under the limits. Each commit is atomic; the whole is not. */
export async function commitInOrder(kv: Kv, mutations: readonly Mutation[]): Promise<void> {
  let atomic = kv.atomic()
  let count = 0
  let bytes = 0
  let keys = 0
  for (const m of mutations) {
    const k = keyBytes(m.key)
    const size = k + valueBytes(m.value)
    if (count > 0 && (count + 1 > KV_LIMITS.mutations || bytes + size > KV_LIMITS.commitBytes || keys + k > KV_LIMITS.commitKeyBytes)) {
      await atomic.commit()
      atomic = kv.atomic()
      count = bytes = keys = 0
    }
    if (m.value === undefined) atomic.delete(m.key)
    else atomic.set(m.key, m.value)
    count++
    bytes += size
    keys += k
  }
  if (count > 0) await atomic.commit()
}

/** Reads keys 10 at a time (KV's limit per read), at most `parallel` reads in flight. */
export async function readKeys(kv: Kv, keys: readonly KvKey[], parallel = 8): Promise<unknown[]> {
  const groups: KvKey[][] = []
  for (let at = 0; at < keys.length; at += KV_LIMITS.keysPerRead) groups.push(keys.slice(at, at + KV_LIMITS.keysPerRead))
  const read = await inParallel(groups, parallel, (group) => kv.getMany(group))
  const out: unknown[] = []
  for (const entries of read) for (const entry of entries) out.push(entry.value ?? undefined)
  return out
}

/** Every entry under a prefix, in key order. */
export async function listAll(kv: Kv, prefix: KvKey): Promise<Array<{ key: KvKey; value: unknown }>> {
  const out: Array<{ key: KvKey; value: unknown }> = []
  for await (const entry of kv.list({ prefix })) out.push({ key: entry.key, value: entry.value })
  return out
}

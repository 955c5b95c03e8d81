import type { EngineContext } from '../engine/engine-context.ts'
import { readManyNow } from '../engine/read-path.ts'
import { decodeValue } from '../persistence/codec.ts'
import { DURABLE, EVICTABLE } from '../registry/registry.ts'
import { isReservedNamespace } from '../api/validate.ts'
import { VECTOR_NAMESPACE } from '../embeddings/entry-vectors.ts'

/**
 * What the last backup of this memory held, so the next incremental one carries only what
 * changed since: each entry's store key and a fingerprint of what a backup records of it
 * (value, type, layer, importance, expiry, tags…; not access statistics, which change on every
 * read, nor placement). Kept as one entry of tiermem's own namespace. Lost with the memory's
 * data (clear(), eviction), which makes the next backup a full one, never a wrong incremental.
 */
export const BACKUP_NAMESPACE = 'tiermem:backup'
export const STATE_KEY = 'last'

export interface BackupState {
  id: string
  seqTo: number
  /** Store keys (namespace NUL key), and two u32 of fingerprint per key. */
  keys: string[]
  fp: Uint32Array
}

/** The entries a backup takes: durable, unexpired, users' own and their vectors (caches and the index are rebuilt). */
export function backedUp(ctx: EngineContext, slot: number, now: number): boolean {
  const { reg } = ctx
  if (!(reg.flags[slot]! & DURABLE) || reg.expiresAt[slot]! <= now) return false
  const namespace = reg.namespaces[slot]!
  return !isReservedNamespace(namespace) || namespace === VECTOR_NAMESPACE
}

/**
 * A 64-bit fingerprint of what a backup records of an entry: two 32-bit multiplicative string
 * hashes (cyrb53's mixing, two seeds) over its fields joined, straight from the registry's
 * columns. Not xxHash over encoded bytes: encoding the string first was most of its cost.
 */
export function fingerprint(ctx: EngineContext, slot: number): { hi: number; lo: number } {
  const { reg } = ctx
  const text =
    `${reg.hashHi[slot]}\u0001${reg.hashLo[slot]}\u0001${reg.typeNames.name(reg.type[slot]!)}\u0001${reg.layerNames.name(reg.layer[slot]!)}` +
    `\u0001${Math.round(reg.importance[slot]! * 1e6)}\u0001${Math.round(reg.relevance[slot]! * 1e6)}\u0001${reg.createdAt[slot]}` +
    `\u0001${reg.expiresAt[slot]}\u0001${reg.ttlMs[slot]}\u0001${reg.taskIds[slot] ?? ''}\u0001${(reg.tags.get(slot) ?? []).join('\u0000')}` +
    `\u0001${reg.flags[slot]! & EVICTABLE}`
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 2654435761)
    h2 = Math.imul(h2 ^ c, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return { hi: h1 >>> 0, lo: h2 >>> 0 }
}

export async function readBackupState(ctx: EngineContext): Promise<BackupState | undefined> {
  const [state] = await readManyNow(ctx, BACKUP_NAMESPACE, [STATE_KEY], decodeValue, false).catch(() => [undefined])
  return isBackupState(state) ? state : undefined
}

function isBackupState(value: unknown): value is BackupState {
  const s = value as BackupState | undefined
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.id === 'string' &&
    typeof s.seqTo === 'number' &&
    Array.isArray(s.keys) &&
    s.fp instanceof Uint32Array &&
    s.fp.length === s.keys.length * 2
  )
}

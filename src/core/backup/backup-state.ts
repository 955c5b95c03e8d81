import type { EngineContext } from '../engine/engine-context.ts'
import type { TimeSlices } from '../engine/time-slices.ts'
import { readManyNow } from '../engine/read-path.ts'
import { decodeValue } from '../persistence/codec.ts'
import { DURABLE, EVICTABLE } from '../registry/registry.ts'
import { isReservedNamespace } from '../api/validate.ts'
import { VECTOR_NAMESPACE } from '../embeddings/entry-vectors.ts'
import { packKeys, unpackKeys } from './key-list.ts'

/**
 * What the last backup of this memory held, so the next incremental one carries only what
 * changed since: each entry's store key and a fingerprint of what a backup records of it
 * (value, type, layer, importance, expiry, tags…; not access statistics, which change on every
 * read, nor placement). Kept as one entry of tiermem's own namespace. Lost with the memory's
 * data (clear(), eviction), which makes the next backup a full one, never a wrong incremental.
 */
export const BACKUP_NAMESPACE = 'tiermem:backup'
export const STATE_KEY = 'last'

/** The state as the engine uses it (stored as StoredBackupState). */
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
 * A 64-bit fingerprint of what a backup records of an entry, written to out[at], out[at + 1]:
 * two 32-bit multiplicative hashes (cyrb53's mixing, two seeds) fed straight from the registry's
 * columns: its numbers as the 32-bit halves of their float64 bits, then its names as UTF-16
 * units, each name closed by a mark no unit can equal. Built as one joined string before, it
 * made ~660 bytes of garbage an entry: 66 of a 100k backup's ~300 MiB allocated (measured). The
 * hash state lives in locals: kept in module variables, each step boxed a number.
 * A memory backed up with the string's version finds every entry changed once: its next
 * incremental carries everything, which is larger, never wrong.
 */
export function fingerprintInto(ctx: EngineContext, slot: number, out: Uint32Array, at: number): void {
  const { reg } = ctx
  numbers[0] = reg.hashHi[slot]!
  numbers[1] = reg.hashLo[slot]!
  numbers[2] = Math.round(reg.importance[slot]! * 1e6)
  numbers[3] = Math.round(reg.relevance[slot]! * 1e6)
  numbers[4] = reg.createdAt[slot]!
  numbers[5] = reg.expiresAt[slot]!
  numbers[6] = reg.ttlMs[slot]!
  numbers[7] = reg.flags[slot]! & EVICTABLE
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  for (let i = 0; i < words.length; i++) {
    h1 = Math.imul(h1 ^ words[i]!, M1)
    h2 = Math.imul(h2 ^ words[i]!, M2)
  }
  const type = reg.typeNames.name(reg.type[slot]!)
  const layer = reg.layerNames.name(reg.layer[slot]!)
  const taskId = reg.taskIds.get(slot) ?? ''
  h1 = mixText(mixText(mixText(h1, type, M1), layer, M1), taskId, M1)
  h2 = mixText(mixText(mixText(h2, type, M2), layer, M2), taskId, M2)
  for (const tag of reg.tags.get(slot) ?? []) {
    h1 = mixText(h1, tag, M1)
    h2 = mixText(h2, tag, M2)
  }
  const hi = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  const lo = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(hi ^ (hi >>> 13), 3266489909)
  out[at] = hi >>> 0
  out[at + 1] = lo >>> 0
}

const M1 = 2654435761
const M2 = 1597334677
/** A mark past any UTF-16 unit (0..0xffff), closing each name: ['a', 'b'] and ['ab'] differ. */
const NAME_END = 0x1_0000
/** The numeric fields, read back as 32-bit words. */
const numbers = new Float64Array(8)
const words = new Uint32Array(numbers.buffer)

function mixText(h: number, text: string, multiplier: number): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), multiplier)
  return Math.imul(h ^ NAME_END, multiplier)
}

export async function readBackupState(ctx: EngineContext, slices: TimeSlices): Promise<BackupState | undefined> {
  const [state] = await readManyNow(ctx, BACKUP_NAMESPACE, [STATE_KEY], decodeValue, false).catch(() => [undefined])
  return toBackupState(state, slices)
}

/** The state as it is stored: its keys packed into bytes (key-list.ts). */
export interface StoredBackupState {
  id: string
  seqTo: number
  count: number
  keys: Uint8Array
  fp: Uint32Array
}

/** The state to store, its entries named by namespace and key (their store keys are never made as strings). */
export async function toStoredState(
  state: Omit<BackupState, 'keys'>,
  namespaces: readonly string[],
  keys: readonly string[],
  slices: TimeSlices,
): Promise<StoredBackupState> {
  return { id: state.id, seqTo: state.seqTo, count: keys.length, keys: await packKeys(namespaces, keys, slices), fp: state.fp }
}

/**
 * A stored state read back, or undefined if it does not read as one (the next backup is then a
 * full one, never a wrong incremental). A state saved before the keys were packed (an array of
 * strings) still reads.
 */
export async function toBackupState(value: unknown, slices: TimeSlices): Promise<BackupState | undefined> {
  const s = value as Partial<Record<keyof StoredBackupState, unknown>> | null | undefined
  if (typeof s !== 'object' || s === null || typeof s.id !== 'string' || typeof s.seqTo !== 'number' || !(s.fp instanceof Uint32Array)) return undefined
  let keys: string[] | undefined
  if (Array.isArray(s.keys)) keys = s.keys.every((key) => typeof key === 'string') ? (s.keys as string[]) : undefined
  else if (s.keys instanceof Uint8Array && Number.isInteger(s.count) && (s.count as number) >= 0) keys = await unpackKeys(s.keys, s.count as number, slices)
  if (!keys || s.fp.length !== keys.length * 2) return undefined
  return { id: s.id, seqTo: s.seqTo, keys, fp: s.fp }
}

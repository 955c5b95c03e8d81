import { formatHash } from '../persistence/content-hash.ts'
import { TiermemError } from '../api/errors.ts'
import { COLD, DURABLE, EVICTABLE, type HOT, PERSISTED_FLAGS, TIER_NAMES, WARM, type Registry } from './registry.ts'
import type { EntryInfo } from '../api/types.ts'
import { DEFAULT_NAMESPACE } from '../api/validate.ts'

/**
 * One entry's metadata as a plain object: what a put plans, what the warm store's `meta` space
 * persists, and what the registry is filled from at open. The registry is the in-memory form.
 */
export interface EntryRecord {
  key: string
  namespace: string
  type: string
  layer: string
  /** Where the durable bytes are (WARM or COLD), or HOT for an entry whose copy is also decoded in memory. */
  tier: number
  importance: number
  relevance: number
  createdAt: number
  lastAccessedAt: number
  accessCount: number
  sizeBytes: number
  /** NaN: the layer's TTL. */
  ttlMs: number
  expiresAt: number
  taskId: string | undefined
  tags: string[] | undefined
  flags: number
  refCount: number
  hashHi: number
  hashLo: number
  /** The warm page holding the value (0: stored alone under its key) and the offset in it. */
  page: number
  pageOffset: number
  /** Archived in cold at this deflate level (its archive rule's); 0: not archived. */
  archived: number
}

/**
 * The persisted form is a positional array: compact, and versioned by its first element.
 * Version 2 added the warm page and offset; version 3 writes null for fields that hold their
 * usual value (the default namespace, relevance equal to importance, lastAccessedAt equal to
 * createdAt), which pays for the store key every metadata record now repeats in its directory
 * (meta-record.ts). Versions 1 and 2 still load.
 */
const RECORD_VERSION = 3
const RECORD_FIELDS = 22
const V1_FIELDS = 20
/**
 * Version 4 adds the archive level. Written only for archived entries: every other record stays
 * version 3, which an older tiermem still reads (it reports a version 4 one as CORRUPT, leaving it be).
 */
const ARCHIVED_VERSION = 4
const V4_FIELDS = 23

/** A record as the positional array stored in journal chunks and snapshots. */
export function recordToArray(r: EntryRecord): unknown[] {
  // Hot is not a durable place: a hot entry's bytes live in warm, so it is persisted as warm.
  const storedTier = r.tier === COLD ? COLD : WARM
  const archived = storedTier === COLD && r.archived > 0
  const fields = [
    archived ? ARCHIVED_VERSION : RECORD_VERSION,
    r.key,
    r.namespace === DEFAULT_NAMESPACE ? null : r.namespace,
    r.type,
    r.layer,
    storedTier,
    r.importance,
    r.relevance === r.importance ? null : r.relevance,
    r.createdAt,
    r.lastAccessedAt === r.createdAt ? null : r.lastAccessedAt,
    r.accessCount,
    r.sizeBytes,
    Number.isNaN(r.ttlMs) ? null : r.ttlMs,
    r.expiresAt === Number.POSITIVE_INFINITY ? null : r.expiresAt,
    r.taskId ?? null,
    r.tags ?? null,
    r.flags & PERSISTED_FLAGS,
    r.refCount,
    r.hashHi,
    r.hashLo,
    storedTier === COLD ? 0 : r.page,
    storedTier === COLD ? 0 : r.pageOffset,
  ]
  if (archived) fields.push(r.archived)
  return fields
}

export function arrayToRecord(a: unknown): EntryRecord {
  const known =
    Array.isArray(a) &&
    (((a[0] === RECORD_VERSION || a[0] === 2) && a.length === RECORD_FIELDS) ||
      (a[0] === ARCHIVED_VERSION && a.length === V4_FIELDS) ||
      (a[0] === 1 && a.length === V1_FIELDS))
  if (!known) {
    throw new TiermemError('CORRUPT', 'an entry metadata record has an unknown layout; it was written by a newer tiermem or is damaged')
  }
  return {
    key: a[1],
    namespace: a[2] ?? DEFAULT_NAMESPACE,
    type: a[3],
    layer: a[4],
    tier: a[5],
    importance: a[6],
    relevance: a[7] ?? a[6],
    createdAt: a[8],
    lastAccessedAt: a[9] ?? a[8],
    accessCount: a[10],
    sizeBytes: a[11],
    ttlMs: a[12] ?? Number.NaN,
    expiresAt: a[13] ?? Number.POSITIVE_INFINITY,
    taskId: a[14] ?? undefined,
    tags: a[15] ?? undefined,
    flags: a[16],
    refCount: a[17],
    hashHi: a[18],
    hashLo: a[19],
    page: a[20] ?? 0,
    pageOffset: a[21] ?? 0,
    archived: a[0] === ARCHIVED_VERSION && a[5] === COLD ? a[22] : 0,
  }
}

export function readRecord(reg: Registry, slot: number): EntryRecord {
  return {
    key: reg.keys[slot]!,
    namespace: reg.namespaces[slot]!,
    type: reg.typeNames.name(reg.type[slot]!),
    layer: reg.layerNames.name(reg.layer[slot]!),
    tier: reg.tier[slot]!,
    importance: reg.importance[slot]!,
    relevance: reg.relevance[slot]!,
    createdAt: reg.createdAt[slot]!,
    lastAccessedAt: reg.lastAccessedAt[slot]!,
    accessCount: reg.accessCount[slot]!,
    sizeBytes: reg.sizeBytes[slot]!,
    ttlMs: reg.ttlMs[slot]!,
    expiresAt: reg.expiresAt[slot]!,
    taskId: reg.taskIds.get(slot),
    tags: reg.tags.get(slot),
    flags: reg.flags[slot]!,
    refCount: reg.refCount[slot]!,
    hashHi: reg.hashHi[slot]!,
    hashLo: reg.hashLo[slot]!,
    page: reg.page[slot]!,
    pageOffset: reg.pageOffset[slot]!,
    archived: reg.archived[slot]!,
  }
}

/** Fills a detached (or freshly allocated) slot from a record. The caller attaches it. */
export function writeRecord(reg: Registry, slot: number, r: EntryRecord): void {
  reg.clearLocation(slot)
  reg.type[slot] = reg.typeNames.id(r.type)
  reg.layer[slot] = reg.layerId(r.layer)
  reg.tier[slot] = r.tier
  reg.importance[slot] = r.importance
  reg.relevance[slot] = r.relevance
  reg.createdAt[slot] = r.createdAt
  reg.lastAccessedAt[slot] = r.lastAccessedAt
  reg.accessCount[slot] = r.accessCount
  reg.sizeBytes[slot] = r.sizeBytes
  reg.ttlMs[slot] = r.ttlMs
  reg.expiresAt[slot] = r.expiresAt
  if (r.taskId !== undefined) reg.taskIds.set(slot, r.taskId)
  else reg.taskIds.delete(slot)
  if (r.tags && r.tags.length > 0) reg.tags.set(slot, r.tags)
  else reg.tags.delete(slot)
  reg.flags[slot] = r.flags
  reg.refCount[slot] = r.refCount
  reg.hashHi[slot] = r.hashHi
  reg.hashLo[slot] = r.hashLo
  reg.archived[slot] = r.tier === COLD ? r.archived : 0
  reg.setLocation(slot, r.page, r.pageOffset)
}

export function toEntryInfo(reg: Registry, slot: number): EntryInfo {
  const flags = reg.flags[slot]!
  const expiresAt = reg.expiresAt[slot]!
  const info: EntryInfo = {
    key: reg.keys[slot]!,
    namespace: reg.namespaces[slot]!,
    type: reg.typeNames.name(reg.type[slot]!),
    tier: TIER_NAMES[reg.tier[slot]! as typeof HOT | typeof WARM | typeof COLD],
    layer: reg.layerNames.name(reg.layer[slot]!),
    importance: roundStored(reg.importance[slot]!),
    relevance: roundStored(reg.relevance[slot]!),
    createdAt: reg.createdAt[slot]!,
    lastAccessedAt: reg.lastAccessedAt[slot]!,
    accessCount: reg.accessCount[slot]!,
    sizeBytes: reg.sizeBytes[slot]!,
    tags: [...(reg.tags.get(slot) ?? [])],
    evictable: (flags & EVICTABLE) !== 0,
    durable: (flags & DURABLE) !== 0,
    refCount: reg.refCount[slot]!,
    contentHash: formatHash(reg.hashHi[slot]!, reg.hashLo[slot]!),
  }
  if (expiresAt !== Number.POSITIVE_INFINITY) info.expiresAt = expiresAt
  if (reg.archived[slot]) info.archived = reg.archived[slot]
  const taskId = reg.taskIds.get(slot)
  if (taskId !== undefined) info.taskId = taskId
  return info
}

/** Float32 storage turns 0.7 into 0.699999988; give back the number the caller put. */
export function roundStored(value: number): number {
  return Math.round(value * 1e6) / 1e6
}

/** The key an entry has in the stores: namespace and key, joined by NUL (namespaces contain none). */
export function storeKeyOf(namespace: string, key: string): string {
  return namespace + '\u0000' + key
}

/** The slot of the live entry a store key names, or -1 (also for keys that are no entry's, like warm pages). */
export function slotOfStoreKey(reg: Registry, storeKey: string): number {
  const split = storeKey.indexOf('\u0000')
  return split <= 0 ? -1 : reg.find(storeKey.slice(0, split), storeKey.slice(split + 1))
}

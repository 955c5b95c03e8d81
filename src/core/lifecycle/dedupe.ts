import type { DedupeResult } from '../api/types.ts'
import { isReservedNamespace } from '../api/validate.ts'
import { getMany, storeKey, type EngineContext } from '../engine/engine-context.ts'
import { removeEntries } from '../engine/removal.ts'
import type { Change } from '../persistence/journal.ts'
import { encodeValue } from '../persistence/codec.ts'
import { readWarm } from '../persistence/warm-values.ts'
import { readRecord, type EntryRecord } from '../registry/entry-record.ts'
import { COLD, DURABLE, EVICTABLE } from '../registry/registry.ts'
import { hotValue } from './tier-moves.ts'

/** Duplicate groups merged per lane task: writes issued meanwhile wait for one batch, not the whole pass. */
const GROUPS_PER_BATCH = 256

/**
 * `mem.dedupe()` (seed 002): entries of one namespace holding the same bytes become one. The
 * most important is kept (then the most read, then the oldest); it takes the others' reads
 * (summed), tags (merged), latest access and latest expiry, and stays non-evictable if any of
 * them was. The content hash only proposes a group: bytes are compared before anything merges
 * (it is not cryptographic). Held entries (refCount > 0) are neither removed nor merged, and
 * expired ones gc has not reached take no part: one must never outlive a live copy it replaced.
 */
export async function dedupe(ctx: EngineContext): Promise<DedupeResult> {
  const { reg } = ctx
  const result: DedupeResult = { groups: 0, removed: 0, freedBytes: 0 }
  const byHash = new Map<string, number[]>()
  const now = ctx.clock.now()
  for (const slot of reg.slots()) {
    const namespace = reg.namespaces[slot]!
    if (isReservedNamespace(namespace) || reg.refCount[slot]! > 0 || reg.expiresAt[slot]! <= now) continue
    const id = `${namespace}\u0000${reg.hashHi[slot]}:${reg.hashLo[slot]}:${reg.sizeBytes[slot]}`
    const group = byHash.get(id)
    if (group) group.push(slot)
    else byHash.set(id, [slot])
  }
  const groups = [...byHash.values()].filter((g) => g.length > 1)
  for (let i = 0; i < groups.length; i += GROUPS_PER_BATCH) {
    const batch = groups.slice(i, i + GROUPS_PER_BATCH)
    const bytes = await valuesOf(ctx, batch.flat())
    const removals: number[] = []
    const merges: Change[] = []
    for (const group of batch) {
      const keeper = [...group].sort(
        (a, b) => reg.importance[b]! - reg.importance[a]! || reg.accessCount[b]! - reg.accessCount[a]! || reg.createdAt[a]! - reg.createdAt[b]!,
      )[0]!
      const same = group.filter((slot) => slot !== keeper && sameBytes(bytes.get(slot), bytes.get(keeper)))
      if (same.length === 0) continue
      result.groups++
      removals.push(...same)
      merges.push(mergeInto(ctx, keeper, same))
    }
    result.removed += removals.length
    result.freedBytes += await removeEntries(ctx, removals, 'dedupe', merges)
  }
  return result
}

/** The keeper's record with the others folded in, as one journalled change applied when its batch lands. */
function mergeInto(ctx: EngineContext, keeper: number, others: readonly number[]): Change {
  const { reg } = ctx
  const record = readRecord(reg, keeper)
  const tags = new Set(record.tags ?? [])
  for (const slot of others) {
    record.accessCount += reg.accessCount[slot]!
    record.lastAccessedAt = Math.max(record.lastAccessedAt, reg.lastAccessedAt[slot]!)
    record.expiresAt = Math.max(record.expiresAt, reg.expiresAt[slot]!)
    if (!(reg.flags[slot]! & EVICTABLE)) record.flags &= ~EVICTABLE
    for (const tag of reg.tags.get(slot) ?? []) tags.add(tag)
  }
  record.tags = tags.size > 0 ? [...tags] : undefined
  const apply = () => applyMerged(ctx, keeper, record)
  // A keeper that lives in hot memory only has nothing to journal.
  return reg.flags[keeper]! & DURABLE ? { entry: record, apply } : { apply }
}

/**
 * A kept entry's merged record into the registry, once journalled: reads, latest access (and its
 * place in the recency list), expiry, flags and tags. Shared by dedupe() and put's dedupe.
 */
export function applyMerged(ctx: EngineContext, slot: number, record: EntryRecord): void {
  const { reg } = ctx
  // touch() moves it to the recent end and counts one read; the count is then set to the merged one.
  reg.touch(slot, record.lastAccessedAt)
  reg.accessCount[slot] = record.accessCount
  if (record.expiresAt !== reg.expiresAt[slot]) {
    reg.expiresAt[slot] = record.expiresAt
    if (record.expiresAt !== Number.POSITIVE_INFINITY) reg.expiry.push(record.expiresAt, slot, reg.gen[slot]!)
  }
  reg.flags[slot] = record.flags
  if (record.tags) reg.tags.set(slot, record.tags)
}

/** Whether two values' bytes are the same (the content hash only proposes it). */
export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (!a || !b || a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

/** Each slot's encoded bytes, from wherever it is (a volatile hot entry is encoded from its value). */
async function valuesOf(ctx: EngineContext, slots: readonly number[]): Promise<Map<number, Uint8Array | undefined>> {
  const { reg } = ctx
  const out = new Map<number, Uint8Array | undefined>()
  const warm: number[] = []
  const cold: number[] = []
  for (const slot of slots) {
    if (!(reg.flags[slot]! & DURABLE)) out.set(slot, encodeValue(hotValue(reg, slot)))
    else if (reg.tier[slot] === COLD) cold.push(slot)
    else warm.push(slot)
  }
  const [w, c] = await Promise.all([
    warm.length ? readWarm(ctx, warm, false) : [],
    cold.length
      ? getMany(
          ctx.cold,
          cold.map((slot) => storeKey(ctx, slot)),
        )
      : [],
  ])
  warm.forEach((slot, i) => out.set(slot, w[i]))
  cold.forEach((slot, i) => out.set(slot, c[i]))
  return out
}

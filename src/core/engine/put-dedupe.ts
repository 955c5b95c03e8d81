import { getMany, storeKey, type EngineContext } from './engine-context.ts'
import type { PreparedPut } from './put-plan.ts'
import { hashBytes } from '../persistence/content-hash.ts'
import { commitChanges } from '../persistence/journal.ts'
import { readWarm } from '../persistence/warm-values.ts'
import { readRecord, toEntryInfo } from '../registry/entry-record.ts'
import { COLD, DURABLE, EVICTABLE } from '../registry/registry.ts'
import { applyMerged, sameBytes } from '../lifecycle/dedupe.ts'

/** A stored duplicate a put takes the place of: removed once the put has landed. */
export interface Superseded {
  slot: number
  gen: number
  /** The put that takes its place. */
  item: PreparedPut
}

/**
 * put(..., { dedupe: true }) against the stored entries of its namespace (lane only, before the
 * group is planned). A stored entry with the same bytes (hash, size, then the bytes compared) and
 * another key means one entry remains:
 * - the stored one, if it is at least as important: it takes the put's tags and expiry and counts
 *   the put as a read; the put leaves the group and resolves to the stored entry's info;
 * - else the put, with the stored one's reads and tags; the stored one is removed once the put has
 *   landed (returned here for the group to do).
 */
export async function settleDedupes(ctx: EngineContext, items: readonly PreparedPut[]): Promise<{ kept: PreparedPut[]; superseded: Superseded[] }> {
  const { reg } = ctx
  const superseded: Superseded[] = []
  const kept: PreparedPut[] = []
  for (const item of items) {
    const duplicate = item.dedupe && item.unit === undefined ? await findDuplicate(ctx, item) : -1
    if (duplicate < 0) {
      kept.push(item)
      continue
    }
    const importance = item.options.importance ?? 0.5
    if (reg.importance[duplicate]! >= Math.fround(importance)) {
      try {
        await mergePutInto(ctx, duplicate, item)
        item.resolve(toEntryInfo(reg, duplicate))
      } catch (error) {
        item.reject(error)
      }
      continue
    }
    // The put stays, carrying what the stored copy had gathered.
    const tags = new Set([...(item.options.tags ?? []), ...(reg.tags.get(duplicate) ?? [])])
    item.options = { ...item.options, ...(tags.size > 0 ? { tags: [...tags] } : {}) }
    item.restored = { lastAccessedAt: Math.max(item.at, reg.lastAccessedAt[duplicate]!), accessCount: reg.accessCount[duplicate]! }
    superseded.push({ slot: duplicate, gen: reg.gen[duplicate]!, item })
    kept.push(item)
  }
  return { kept, superseded }
}

/** The slot of another stored entry of the put's namespace with the same bytes, or -1. */
async function findDuplicate(ctx: EngineContext, item: PreparedPut): Promise<number> {
  const { reg } = ctx
  const { hi, lo } = hashBytes(item.bytes)
  const size = item.bytes.byteLength
  const now = ctx.clock.now()
  for (const slot of reg.slots()) {
    if (reg.namespaces[slot] !== item.namespace || reg.keys[slot] === item.key) continue
    if (reg.hashHi[slot] !== hi || reg.hashLo[slot] !== lo || reg.sizeBytes[slot] !== size) continue
    if (!(reg.flags[slot]! & DURABLE) || reg.expiresAt[slot]! <= now || reg.refCount[slot]! > 0) continue
    const [bytes] = reg.tier[slot] === COLD ? await getMany(ctx.cold, [storeKey(ctx, slot)]) : await readWarm(ctx, [slot], false)
    if (sameBytes(bytes, item.bytes)) return slot
  }
  return -1
}

/** The stored entry takes the put in: one more read, its tags, the longer expiry, non-evictable if the put asked. */
async function mergePutInto(ctx: EngineContext, slot: number, item: PreparedPut): Promise<void> {
  const { reg } = ctx
  const record = readRecord(reg, slot)
  const tags = new Set([...(record.tags ?? []), ...(item.options.tags ?? [])])
  record.tags = tags.size > 0 ? [...tags] : undefined
  record.accessCount++
  record.lastAccessedAt = Math.max(record.lastAccessedAt, item.at)
  const ttl = item.options.ttlMs ?? ctx.policy.layers[item.layer]?.ttlMs
  record.expiresAt = Math.max(record.expiresAt, ttl === undefined ? Number.POSITIVE_INFINITY : item.at + ttl)
  if (item.options.evictable === false) record.flags &= ~EVICTABLE
  await commitChanges(ctx, [{ entry: record, apply: () => applyMerged(ctx, slot, record) }])
}

import { TiermemError } from '../api/errors.ts'
import { matchingSlots, checkQueryFilter } from '../api/query.ts'
import type { ArchiveFilter, ArchiveResult, ArchiveRule, MemoryStats } from '../api/types.ts'
import { isReservedNamespace } from '../api/validate.ts'
import { commit, getMany, storeKey, type EngineContext } from '../engine/engine-context.ts'
import type { StoreOp } from '../store/store.ts'
import { commitChanges, type Change } from '../persistence/journal.ts'
import { hashMatches } from '../persistence/content-hash.ts'
import { readRecord } from '../registry/entry-record.ts'
import { COLD, DURABLE } from '../registry/registry.ts'
import { moveFromCold, moveToCold } from './tier-moves.ts'

const DAY = 24 * 3_600_000

/** Whether an entry meets every condition of a rule, now. A read rate needs a day of age to mean anything. */
function meets(ctx: EngineContext, slot: number, rule: ArchiveRule, now: number): boolean {
  const { reg } = ctx
  const w = rule.when
  const age = now - reg.createdAt[slot]!
  if (w.olderThanMs !== undefined && !(age > w.olderThanMs)) return false
  if (w.importanceBelow !== undefined && !(reg.importance[slot]! < w.importanceBelow)) return false
  if (w.idleLongerThanMs !== undefined && !(now - reg.lastAccessedAt[slot]! > w.idleLongerThanMs)) return false
  if (w.accessesBelow !== undefined && !(reg.accessCount[slot]! < w.accessesBelow)) return false
  if (w.largerThanBytes !== undefined && !(reg.sizeBytes[slot]! > w.largerThanBytes)) return false
  if (w.readsPerDayBelow !== undefined && !(age >= DAY && reg.accessCount[slot]! / (age / DAY) < w.readsPerDayBelow)) return false
  return true
}

/** Entries archiving may take: durable, the users' own, not held by anyone. */
function archivable(ctx: EngineContext, slot: number): boolean {
  const { reg } = ctx
  return (reg.flags[slot]! & DURABLE) !== 0 && reg.refCount[slot] === 0 && !isReservedNamespace(reg.namespaces[slot]!)
}

export function checkArchiveFilter(filter: unknown): ArchiveFilter | undefined {
  if (filter === undefined) return undefined
  if (typeof filter !== 'object' || filter === null) throw new TiermemError('INVALID_OPTION', 'archive takes a filter object (query fields and level)')
  const { level, ...query } = filter as ArchiveFilter
  if (level !== undefined && !(Number.isInteger(level) && level >= 1 && level <= 9))
    throw new TiermemError('INVALID_OPTION', 'archive level must be a deflate level 1..9')
  checkQueryFilter(query)
  // A copy: the archive runs in its turn on the lane, and the caller may change its object meanwhile.
  return { ...(filter as ArchiveFilter) }
}

/**
 * `mem.archive(filter?)` and the maintenance step (lane only). Without a filter, each entry is
 * archived by the highest-priority rule it meets, at that rule's level; with one, every entry it
 * matches, at its `level` (default 9). Archived entries move to cold (warm and hot ones) or are
 * rewritten there (cold ones) at that level, one store batch per level.
 */
export async function runArchive(ctx: EngineContext, filter: ArchiveFilter | undefined): Promise<ArchiveResult> {
  const { reg } = ctx
  const byLevel = new Map<number, number[]>()
  const now = ctx.clock.now()
  const add = (slot: number, level: number) => {
    if (reg.archived[slot] === level && reg.tier[slot] === COLD) return
    let list = byLevel.get(level)
    if (!list) byLevel.set(level, (list = []))
    list.push(slot)
  }
  if (filter) {
    const { level = 9, ...query } = filter
    for (const slot of matchingSlots(ctx, query)) if (archivable(ctx, slot)) add(slot, level)
  } else {
    const rules = [...ctx.policy.archiveRules].sort((a, b) => b.priority - a.priority)
    if (rules.length > 0) {
      for (const slot of reg.slots()) {
        if (reg.archived[slot] || !archivable(ctx, slot) || reg.expiresAt[slot]! <= now) continue
        const rule = rules.find((r) => meets(ctx, slot, r, now))
        if (rule) add(slot, rule.level)
      }
    }
  }
  const result: ArchiveResult = { archived: 0, originalBytes: 0, storedBytes: 0 }
  for (const [level, slots] of byLevel) {
    const notCold = slots.filter((slot) => reg.tier[slot] !== COLD)
    const cold = slots.filter((slot) => reg.tier[slot] === COLD)
    // Housekeeping, whether the app or a rule started it: it gives way to reads (TimeSlices).
    await moveToCold(ctx, notCold, { level, background: true })
    await rewriteCold(ctx, cold, level)
    const done = slots.filter((slot) => reg.archived[slot] === level)
    result.archived += done.length
    for (const slot of done) result.originalBytes += reg.sizeBytes[slot]!
    result.storedBytes += await storedBytesOf(ctx, done)
  }
  return result
}

/** Cold entries rewritten at an archive level: the record again (same bytes, same key), then the metadata names the level. */
async function rewriteCold(ctx: EngineContext, slots: readonly number[], level: number): Promise<void> {
  const { reg } = ctx
  for (let i = 0; i < slots.length; i += 1000) {
    const chunk = slots.slice(i, i + 1000)
    const keys = chunk.map((slot) => storeKey(ctx, slot))
    const values = await getMany(ctx.cold, keys, true)
    // Only records that read back whole are rewritten (a damaged one stays as it is, reported by its reads).
    const ok: number[] = []
    const puts: StoreOp[] = []
    chunk.forEach((slot, j) => {
      const bytes = values[j]
      if (!bytes || !hashMatches(bytes, reg.hashHi[slot]!, reg.hashLo[slot]!)) return
      ok.push(slot)
      puts.push({ type: 'put', space: 'values', key: keys[j]!, value: bytes })
    })
    await commit(ctx.cold, puts, { level, background: true })
    const changes = ok.map((slot): Change => {
      const record = readRecord(reg, slot)
      record.archived = level
      return { entry: record, apply: () => setArchived(ctx, slot, level) }
    })
    await commitChanges(ctx, changes)
  }
}

function setArchived(ctx: EngineContext, slot: number, level: number): void {
  const { reg } = ctx
  reg.detach(slot)
  reg.archived[slot] = level
  reg.attach(slot)
}

/** `mem.restore(keyOrFilter)`: archived entries back to warm (lane only); resolves to how many. */
export async function restoreArchived(ctx: EngineContext, slots: readonly number[]): Promise<number> {
  let restored = 0
  for (const slot of slots) {
    if (!ctx.reg.archived[slot]) continue
    await moveFromCold(ctx, slot, false)
    restored++
  }
  return restored
}

/** Bytes the cold store keeps for these entries, where it can say (else their values' own bytes). */
async function storedBytesOf(ctx: EngineContext, slots: readonly number[]): Promise<number> {
  const { reg } = ctx
  if (slots.length === 0) return 0
  if (!ctx.cold.storedSizes) return slots.reduce((n, slot) => n + reg.sizeBytes[slot]!, 0)
  let total = 0
  for (let i = 0; i < slots.length; i += 5000) {
    const chunk = slots.slice(i, i + 5000)
    const sizes = await ctx.cold.storedSizes(
      'values',
      chunk.map((slot) => storeKey(ctx, slot)),
    )
    sizes.forEach((size, j) => (total += size ?? reg.sizeBytes[chunk[j]!]!))
  }
  return total
}

/**
 * What the cold store kept of the archived entries, as of a count of cold writes and of the
 * archive's own counters: stats() is polled (the playground asks every second), and asking the
 * store walks every archived key. Any change to what is archived writes cold or moves a counter.
 */
const storedCache = new WeakMap<EngineContext, { writes: number; count: number; bytes: number; stored: number }>()

/** stats().archive: entries archived now, their values' bytes, and what the cold store keeps of them. */
export async function archiveStats(ctx: EngineContext): Promise<MemoryStats['archive']> {
  const { reg } = ctx
  const originalBytes = reg.archivedBytes
  let storedBytes = originalBytes
  if (reg.archivedCount > 0 && ctx.cold.storedSizes) {
    const cached = storedCache.get(ctx)
    if (cached && cached.writes === ctx.coldWrites && cached.count === reg.archivedCount && cached.bytes === originalBytes) {
      storedBytes = cached.stored
    } else {
      const slots: number[] = []
      for (const slot of reg.slots()) if (reg.archived[slot]) slots.push(slot)
      storedBytes = await storedBytesOf(ctx, slots)
      storedCache.set(ctx, { writes: ctx.coldWrites, count: reg.archivedCount, bytes: originalBytes, stored: storedBytes })
    }
  }
  return {
    entries: reg.archivedCount,
    originalBytes,
    storedBytes,
    ratio: originalBytes === 0 ? 1 : storedBytes / originalBytes,
    savedBytes: Math.max(0, originalBytes - storedBytes),
  }
}

import type { StoreOp } from '../stores/store.ts'
import { commit, reportBackgroundError, storeKey, type EngineContext } from './engine-context.ts'
import { journalOps, type JournalEntry } from './journal.ts'
import { COLD, DURABLE } from './registry.ts'
import type { EvictionReason } from './types.ts'

/** Removes a volatile (durable: false) entry: it has nothing in the stores. */
export function dropVolatile(ctx: EngineContext, slot: number, reason: EvictionReason): number {
  const size = ctx.reg.sizeBytes[slot]!
  forget(ctx, slot, reason)
  return size
}

/**
 * Deletes entries for good (lane only): metadata and warm values in one warm batch, then the
 * cold records. A crash between the two leaves cold records nobody names, swept at open.
 * Returns the bytes freed.
 */
export async function removeEntries(
  ctx: EngineContext,
  slots: readonly number[],
  reason: EvictionReason,
  /** More registry changes to commit in the same atomic batch (e.g. a scope's refCount updates). */
  alongside: readonly JournalEntry[] = [],
): Promise<number> {
  const { reg } = ctx
  const warmOps: StoreOp[] = []
  const journal: JournalEntry[] = [...alongside]
  const coldOps: StoreOp[] = []
  for (const slot of slots) {
    if (!(reg.flags[slot]! & DURABLE)) continue
    const key = storeKey(ctx, slot)
    journal.push(key)
    if (reg.tier[slot] === COLD) coldOps.push({ type: 'delete', space: 'values', key })
    else warmOps.push({ type: 'delete', space: 'values', key })
  }
  await commit(ctx.warm, [...warmOps, ...journalOps(ctx, journal)])
  let freed = 0
  for (const slot of slots) {
    freed += reg.sizeBytes[slot]!
    forget(ctx, slot, reason)
  }
  if (coldOps.length > 0) {
    try {
      await commit(ctx.cold, coldOps)
    } catch (error) {
      reportBackgroundError(ctx, 'cold-delete-failed', error)
    }
  }
  return freed
}

function forget(ctx: EngineContext, slot: number, reason: EvictionReason): void {
  const { reg } = ctx
  const event = { key: reg.keys[slot]!, namespace: reg.namespaces[slot]!, reason, sizeBytes: reg.sizeBytes[slot]! }
  reg.remove(slot)
  ctx.orphans.delete(slot)
  ctx.promotionCandidates.delete(slot)
  ctx.metrics.evictions++
  ctx.events.emit('evicted', event)
}

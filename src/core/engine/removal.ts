import type { StoreOp } from '../store/store.ts'
import { commit, reportBackgroundError, storeKey, type EngineContext } from './engine-context.ts'
import { commitChanges, type Change } from '../persistence/journal.ts'
import { storeKeyOf } from '../registry/entry-record.ts'
import { clearDamage } from '../persistence/integrity.ts'
import { COLD, DURABLE } from '../registry/registry.ts'
import type { EvictionReason } from '../api/types.ts'
import { reclaimPages, warmValueDeletes, withEmptiedPages } from '../persistence/warm-values.ts'

/** Removes a volatile (durable: false) entry: it has nothing in the stores. */
export function dropVolatile(ctx: EngineContext, slot: number, reason: EvictionReason): number {
  const size = ctx.reg.sizeBytes[slot]!
  forget(ctx, slot, reason)
  return size
}

/**
 * Deletes entries for good (lane only): metadata and warm values in one atomic batch per slice
 * (see commitChanges), then the cold records. A crash between the two leaves cold records
 * nobody names, swept at open. Returns the bytes freed.
 */
export async function removeEntries(
  ctx: EngineContext,
  slots: readonly number[],
  reason: EvictionReason,
  /** More registry changes to commit in the same batches (e.g. a scope's refCount updates). */
  alongside: readonly Change[] = [],
): Promise<number> {
  const { reg } = ctx
  const coldKeys: string[] = []
  let freed = 0
  const removals: Change[] = slots.map((slot) => {
    const size = reg.sizeBytes[slot]!
    const apply = () => {
      freed += size
      forget(ctx, slot, reason)
    }
    if (!(reg.flags[slot]! & DURABLE)) return { apply }
    const key = storeKey(ctx, slot)
    if (reg.tier[slot] === COLD) {
      return { entry: key, apply: () => (coldKeys.push(key), apply()) }
    }
    return { ops: warmValueDeletes(ctx, slot), entry: key, apply }
  })
  try {
    // Pages these removals empty go in the same batch (see withEmptiedPages).
    await commitChanges(ctx, withEmptiedPages(ctx, [...alongside, ...removals], slots))
  } finally {
    // What did commit (all of it, or the batches before a failure) loses its cold records and emptied pages too.
    await dropColdRecords(ctx, coldKeys)
    await reclaimPages(ctx)
  }
  return freed
}

/**
 * Deletes cold records the registry no longer names (after the change that stopped naming them
 * has committed). Best effort: a record left behind is garbage nobody reads, swept at the next
 * open, so a failure is reported, not thrown.
 */
export async function dropColdRecords(ctx: EngineContext, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return
  try {
    await commit(
      ctx.cold,
      keys.map((key): StoreOp => ({ type: 'delete', space: 'values', key })),
    )
  } catch (error) {
    reportBackgroundError(ctx, 'cold-delete-failed', error)
  }
}

function forget(ctx: EngineContext, slot: number, reason: EvictionReason): void {
  const { reg } = ctx
  const change = { kind: 'delete' as const, key: reg.keys[slot]!, namespace: reg.namespaces[slot]!, reason, sizeBytes: reg.sizeBytes[slot]! }
  const durable = (reg.flags[slot]! & DURABLE) !== 0
  clearDamage(ctx, storeKeyOf(change.namespace, change.key))
  reg.remove(slot)
  ctx.orphans.delete(slot)
  ctx.promotionCandidates.delete(slot)
  ctx.metrics.evictions++
  ctx.feed.publish(change, durable)
}

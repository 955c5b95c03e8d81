import type { EngineContext } from './engine-context.ts'
import { readRecord, slotOfStoreKey } from './entry-record.ts'
import { commitChanges, type Change } from './journal.ts'
import { evaluatePressure } from './pressure-controller.ts'
import { COLD, DURABLE, EVICTABLE, REFERENCED } from './registry.ts'
import { removeEntries } from './removal.ts'
import type { ScopeState } from './scope-state.ts'
import { moveToCold } from './tier-moves.ts'

/**
 * Closes a task scope (lane only), seed 000's cascade: every entry the scope put loses the
 * scope's reference. Evidence is kept and moved to cold (keepEvidence, default true); the rest
 * is deleted once nobody holds it (unless evictable: false). The refCount updates and the
 * deletions commit in one warm batch, so a crash never leaves a half-closed scope.
 */
export async function closeScope(ctx: EngineContext, scope: ScopeState, keepEvidence: boolean): Promise<void> {
  const { reg } = ctx
  const evidenceType = reg.typeNames.lookup('evidence')
  const updates: Array<{ key: string; slot: number; refCount: number; flags: number }> = []
  const victims: number[] = []
  const victimKeys: string[] = []
  const toCold: number[] = []
  for (const key of scope.owned.keys()) {
    const slot = slotOfStoreKey(reg, key)
    if (slot < 0) continue
    const refCount = Math.max(0, reg.refCount[slot]! - 1)
    const isEvidence = keepEvidence && reg.type[slot] === evidenceType
    if (isEvidence) {
      // Kept on purpose: no longer an orphan candidate once the scope lets go.
      updates.push({ key, slot, refCount, flags: refCount === 0 ? reg.flags[slot]! & ~REFERENCED : reg.flags[slot]! })
      if (reg.flags[slot]! & DURABLE && reg.tier[slot] !== COLD) toCold.push(slot)
    } else if (refCount === 0 && reg.flags[slot]! & EVICTABLE) {
      victims.push(slot)
      victimKeys.push(key)
    } else {
      updates.push({ key, slot, refCount, flags: refCount === 0 ? reg.flags[slot]! & ~REFERENCED : reg.flags[slot]! })
    }
  }
  const changes: Change[] = updates.map((u) => {
    // Each released reference leaves the scope as it lands: a retried close releases the rest only.
    const apply = () => {
      reg.refCount[u.slot] = u.refCount
      reg.flags[u.slot] = u.flags
      if (u.refCount === 0) ctx.orphans.delete(u.slot)
      scope.owned.delete(u.key)
    }
    if (!(reg.flags[u.slot]! & DURABLE)) return { apply }
    const record = readRecord(reg, u.slot)
    record.refCount = u.refCount
    record.flags = u.flags
    return { entry: record, apply }
  })
  try {
    if (victims.length > 0) await removeEntries(ctx, victims, 'scope', changes)
    else await commitChanges(ctx, changes)
  } finally {
    // Victims that were removed (all, or those before a failure) leave the scope too.
    for (const key of victimKeys) if (slotOfStoreKey(reg, key) < 0) scope.owned.delete(key)
  }
  scope.owned.clear()
  scope.usedBytes = 0
  if (toCold.length > 0) await moveToCold(ctx, toCold)
  evaluatePressure(ctx)
}

import type { EngineContext } from '../engine/engine-context.ts'
import { readRecord, slotOfStoreKey, storeKeyOf } from '../registry/entry-record.ts'
import { commitChanges, type Change } from '../persistence/journal.ts'
import { evaluatePressure } from '../pressure/pressure-controller.ts'
import { COLD, DURABLE, EVICTABLE, REFERENCED, SCOPE_HELD } from '../registry/registry.ts'
import { removeEntries } from '../engine/removal.ts'
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
    // Only an entry that still carries this scope's reference is released: one deleted and put
    // again by someone else since is not the scope's any more.
    if (slot < 0 || !(reg.flags[slot]! & SCOPE_HELD) || reg.taskIds.get(slot) !== scope.taskId) continue
    const refCount = Math.max(0, reg.refCount[slot]! - 1)
    const released = reg.flags[slot]! & ~SCOPE_HELD
    const isEvidence = keepEvidence && reg.type[slot] === evidenceType
    if (isEvidence) {
      // Kept on purpose: no longer an orphan candidate once the scope lets go.
      updates.push({ key, slot, refCount, flags: refCount === 0 ? released & ~REFERENCED : released })
      if (reg.flags[slot]! & DURABLE && reg.tier[slot] !== COLD) toCold.push(slot)
    } else if (refCount === 0 && reg.flags[slot]! & EVICTABLE) {
      victims.push(slot)
      victimKeys.push(key)
    } else {
      updates.push({ key, slot, refCount, flags: refCount === 0 ? released & ~REFERENCED : released })
    }
  }
  const changes: Change[] = updates.map((u) => {
    // Each released reference leaves the scope as it lands: a retried close releases the rest only.
    const apply = () => {
      reg.refCount[u.slot] = u.refCount
      reg.flags[u.slot] = u.flags
      if (u.refCount === 0) ctx.orphans.delete(u.slot)
      scope.owned.delete(u.key)
      ctx.feed.publish({ kind: 'refs', namespace: reg.namespaces[u.slot]!, key: reg.keys[u.slot]!, refCount: u.refCount }, (u.flags & DURABLE) !== 0)
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

/**
 * Releases the references of task scopes that no longer exist because the memory was closed,
 * or crashed, while they were open (at open, before any call). Each goes as its close would
 * have: evidence kept and moved to cold, the rest deleted once nobody else holds it, so no
 * entry stays held — and counted — for good.
 */
export async function releaseAbandonedScopes(ctx: EngineContext): Promise<number> {
  const { reg } = ctx
  const byTask = new Map<string, ScopeState>()
  for (const slot of reg.slots()) {
    if (!(reg.flags[slot]! & SCOPE_HELD)) continue
    const taskId = reg.taskIds.get(slot)!
    let scope = byTask.get(taskId)
    if (!scope) {
      scope = {
        taskId,
        critical: false,
        quotaBytes: Number.POSITIVE_INFINITY,
        controller: new AbortController(),
        owned: new Map(),
        usedBytes: 0,
        closeRequested: true,
        closed: true,
      }
      byTask.set(taskId, scope)
    }
    scope.owned.set(storeKeyOf(reg.namespaces[slot]!, reg.keys[slot]!), reg.sizeBytes[slot]!)
  }
  for (const scope of byTask.values()) await closeScope(ctx, scope, true)
  return byTask.size
}

import { hotUsage, type EngineContext } from '../engine/engine-context.ts'
import { promoteLayers } from './layer-rules.ts'
import { compactPages } from '../persistence/page-compaction.ts'
import { elapsedNow } from '../pressure/metrics.ts'
import { DURABLE, EVICTABLE, HOT, REFERENCED, WARM } from '../registry/registry.ts'
import { evictRanked, relieveWarm, storedBytes } from '../pressure/relief.ts'
import { removeEntries } from '../engine/removal.ts'
import { demoteHotToWarm, enforceHotBudget, moveToCold } from './tier-moves.ts'
import type { GcStats } from '../api/types.ts'

/**
 * gc in seed 000's order (lane only): expired, then orphaned, then layer promotion, then idle
 * demotion, then capacity pressure to 20 % free, then warm page compaction. Each step touches
 * only the entries that are due, found through the expiry heap, the orphan set and the recency
 * lists — never a scan of every entry, except eviction at emergency, which must rank all
 * candidates, and page compaction when a page is due: it finds the entries in those pages with
 * one pass over the registry's page column (no index from page to entries is kept: it would
 * cost every entry bytes for a rare step).
 */
export async function runGc(ctx: EngineContext): Promise<GcStats> {
  const started = elapsedNow()
  const { reg } = ctx
  const now = ctx.clock.now()
  const stats: GcStats = { expired: 0, orphaned: 0, demoted: 0, promoted: 0, pressureEvicted: 0, freedBytes: 0, compactedPages: 0, durationMs: 0 }

  // 1. Expired. Held entries (refCount > 0) are not evicted; when released they become orphans.
  const expired: number[] = []
  const heap = reg.expiry
  while (heap.size > 0 && heap.peekTime() <= now) {
    const time = heap.peekTime()
    const slot = heap.peekSlot()
    const gen = heap.peekGen()
    heap.pop()
    if (reg.isLive(slot, gen) && reg.expiresAt[slot] === time && reg.refCount[slot] === 0) expired.push(slot)
  }
  stats.freedBytes += await removeEntries(ctx, expired, 'expired')
  stats.expired = expired.length

  // 2. Orphaned: reference-counted entries nobody holds any more. Those that can never be
  // collected leave the set; the rest leave it as they are removed (so a failure keeps them).
  const orphans: number[] = []
  for (const slot of ctx.orphans) {
    if (reg.refCount[slot] === 0 && (reg.flags[slot]! & (EVICTABLE | REFERENCED)) === (EVICTABLE | REFERENCED)) orphans.push(slot)
    else ctx.orphans.delete(slot)
  }
  stats.freedBytes += await removeEntries(ctx, orphans, 'orphaned')
  stats.orphaned = orphans.length

  // 3. Layer promotion (seed 004).
  stats.promoted = await promoteLayers(ctx)

  // 4. Idle demotion: walk each recency list from its least recent end while entries are idle.
  for (const slot of reg.byRecency(HOT)) {
    if (now - reg.lastAccessedAt[slot]! < ctx.policy.hotIdleMs) break
    if (reg.flags[slot]! & DURABLE) {
      demoteHotToWarm(ctx, slot)
      stats.demoted++
    }
  }
  const idleWarm: number[] = []
  for (const slot of reg.byRecency(WARM)) {
    if (now - reg.lastAccessedAt[slot]! < ctx.policy.warmIdleMs) break
    idleWarm.push(slot)
  }
  // Idle entries leave at no hurry: the move gives way to reads. Relief over a budget (below) does not.
  stats.demoted += await moveToCold(ctx, idleWarm, { background: true })

  // 5. Capacity pressure: relieve every budget at or over the critical threshold to 20 % free.
  const { critical, emergency } = ctx.pressurePolicy.thresholds
  const ratio = (used: number, limit: number) => (limit === Number.POSITIVE_INFINITY ? 0 : used / limit)
  if (ratio(hotUsage(ctx), ctx.budgets.hot) >= critical) stats.demoted += enforceHotBudget(ctx, 0.8 * ctx.budgets.hot)
  if (ratio(reg.warmStoredBytes, ctx.budgets.warm) >= critical) stats.demoted += await relieveWarm(ctx, 0.8 * ctx.budgets.warm)
  for (const where of ['warm', 'cold'] as const) {
    if (ratio(storedBytes(ctx, where), ctx.budgets[where]) >= emergency) {
      const relief = await evictRanked(ctx, where, 0.8 * ctx.budgets[where])
      stats.pressureEvicted += relief.evicted
      stats.freedBytes += relief.freedBytes
    }
  }
  // 6. Warm pages mostly dead: rewrite their live values (bounded per run).
  stats.compactedPages = await compactPages(ctx)
  stats.durationMs = elapsedNow() - started
  return stats
}

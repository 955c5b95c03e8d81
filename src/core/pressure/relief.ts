import type { EngineContext } from '../engine/engine-context.ts'
import { COLD, DURABLE, EVICTABLE, HOT, WARM } from '../registry/registry.ts'
import { removeEntries } from '../engine/removal.ts'
import { evictionRank } from '../lifecycle/scoring.ts'
import { moveToCold } from '../lifecycle/tier-moves.ts'

/**
 * Relief for short storage, mildest first: move warm entries to compressed cold (relieveWarm),
 * and, only at emergency, delete evictable entries ranked by importance × recency / size
 * (evictRanked). Short memory is relieved by demotion alone (enforceHotBudget in tier-moves):
 * nothing is lost.
 */

export interface ReliefResult {
  demoted: number
  evicted: number
  freedBytes: number
}

/** Moves least recently used warm (then hot) entries to cold until warm-stored bytes ≤ targetBytes. */
export async function relieveWarm(ctx: EngineContext, target: number): Promise<number> {
  const { reg } = ctx
  let excess = reg.warmStoredBytes - target
  if (excess <= 0) return 0
  const room = ctx.budgets.cold - reg.tierBytes[COLD]!
  const chosen: number[] = []
  let moving = 0
  for (const tier of [WARM, HOT]) {
    for (const slot of reg.byRecency(tier)) {
      if (excess <= 0) break
      if (!(reg.flags[slot]! & DURABLE)) continue
      const size = reg.sizeBytes[slot]!
      if (moving + size > room) break
      chosen.push(slot)
      moving += size
      excess -= size
    }
  }
  return chosen.length === 0 ? 0 : moveToCold(ctx, chosen)
}

/** Bytes whose values are stored in `where`: 'warm' counts hot durable entries too (their bytes are in warm). */
export function storedBytes(ctx: EngineContext, where: 'warm' | 'cold' | 'all'): number {
  if (where === 'all') return ctx.reg.warmStoredBytes + ctx.reg.tierBytes[COLD]!
  return where === 'warm' ? ctx.reg.warmStoredBytes : ctx.reg.tierBytes[COLD]!
}

/**
 * Deletes evictable entries stored in `where` until its stored bytes ≤ targetBytes, lowest
 * importance × recency / size first. Never refCount > 0, never evictable: false, never a
 * 'manual' layer.
 */
export async function evictRanked(ctx: EngineContext, where: 'warm' | 'cold' | 'all', targetBytes: number): Promise<ReliefResult> {
  const { reg } = ctx
  let excess = storedBytes(ctx, where) - targetBytes
  if (excess <= 0) return { demoted: 0, evicted: 0, freedBytes: 0 }
  const now = ctx.clock.now()
  const candidates: Array<{ slot: number; rank: number }> = []
  for (const slot of reg.slots()) {
    const durable = (reg.flags[slot]! & DURABLE) !== 0
    const inPlace = where === 'all' ? durable : where === 'cold' ? reg.tier[slot] === COLD : reg.tier[slot] !== COLD && durable
    if (!inPlace || !(reg.flags[slot]! & EVICTABLE) || reg.refCount[slot] !== 0) continue
    const layer = ctx.policy.layers[reg.layerNames.name(reg.layer[slot]!)]
    const policy = layer?.eviction ?? 'lru_with_importance'
    if (policy === 'manual') continue
    const rank = evictionRank(
      policy,
      { importance: reg.importance[slot]!, sizeBytes: reg.sizeBytes[slot]!, idleMs: now - reg.lastAccessedAt[slot]! },
      ctx.policy.recencyHalfLifeMs,
    )
    candidates.push({ slot, rank })
  }
  candidates.sort((a, b) => a.rank - b.rank)
  const victims: number[] = []
  for (const { slot } of candidates) {
    if (excess <= 0) break
    victims.push(slot)
    excess -= reg.sizeBytes[slot]!
  }
  const freedBytes = victims.length === 0 ? 0 : await removeEntries(ctx, victims, 'pressure')
  return { demoted: 0, evicted: victims.length, freedBytes }
}

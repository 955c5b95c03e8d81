import { hotUsage, reportBackgroundError, type EngineContext, type ExternalSignal } from '../engine/engine-context.ts'
import { runGc } from '../lifecycle/gc.ts'
import { nextLevel, levelRank } from './pressure-level.ts'
import { indexFillsHotBudget, pressureSignals, scopeSignals } from './pressure-signals.ts'
import { evictRanked, relieveWarm, storedBytes } from './relief.ts'
import { enforceHotBudget, workingBytes } from '../lifecycle/tier-moves.ts'
import { TiermemError } from '../api/errors.ts'
import type { PressureReport } from '../api/types.ts'

/**
 * Pressure: signals → a level with hysteresis → actions on the resource that is short
 * (DESIGN.md "Pressure"). The engine's own byte budgets are signals everywhere; other sources
 * (heap, storage quota) arrive through `ctx.externalSignals`.
 */

function toReport(ctx: EngineContext, signals: ExternalSignal[]): PressureReport {
  const ratio = signals.reduce((max, s) => Math.max(max, s.ratio), 0)
  return { level: ctx.level, ratio, signals: signals.map(({ source, used, limit, ratio }) => ({ source, used, limit, ratio })) }
}

export function pressureReport(ctx: EngineContext): PressureReport {
  return toReport(ctx, pressureSignals(ctx))
}

const queued = new WeakSet<EngineContext>()

/** Says once, with an `alert`, that the index alone fills the hot budget (again after it stops doing so). */
const indexAlerted = new WeakSet<EngineContext>()
function alertIndexOverBudget(ctx: EngineContext): void {
  if (!indexFillsHotBudget(ctx)) {
    indexAlerted.delete(ctx)
    return
  }
  if (indexAlerted.has(ctx)) return
  indexAlerted.add(ctx)
  ctx.events.emit('alert', {
    name: 'index_over_budget',
    severity: 'warning',
    detail: {
      indexBytes: ctx.heldBytes,
      hotBudget: ctx.budgets.hot,
      advice: 'the recall index alone fills the hot budget (its links: its codes are paged out already): raise hot.maxBytes; task scopes are not paused for it',
    },
  })
}

/**
 * After a write batch has answered its callers (lane only): once warm holds more than its
 * working size, moves the overflow to compressed cold now. Why: relief that waited for the
 * critical level took warm down to 65 % and the next writes took it back up, so a steady load
 * walked the level normal → warning → critical → normal over and over. Moving the overflow as
 * it arrives keeps the level where the load really is. Run here rather than queued: a queued
 * round ran only after the next batch, which had already raised the level.
 */
export async function keepWarmWithinWorkingSize(ctx: EngineContext): Promise<void> {
  const target = workingBytes(ctx, 'warm')
  if (ctx.reg.warmStoredBytes <= target || ctx.closed) return
  await relieveWarm(ctx, target)
}

/**
 * Recomputes the level (cheap: counters only). On a change: a `pressure` event, an `alert` at
 * critical and emergency, waiting openScope calls woken, and — when the level rose — the
 * level's actions queued on the lane.
 */
export function evaluatePressure(ctx: EngineContext): PressureReport {
  const signals = pressureSignals(ctx)
  const ratio = signals.reduce((max, s) => Math.max(max, s.ratio), 0)
  const previous = ctx.level
  const level = nextLevel(ratio, previous, ctx.pressurePolicy)
  ctx.level = level
  const report = toReport(ctx, signals)
  alertIndexOverBudget(ctx)
  // At normal: an index paged by pressure may take codes back into the working size left free, as walks use them.
  if (level === 'normal') ctx.heldRelief?.room(workingBytes(ctx, 'hot') - hotUsage(ctx))
  if (level !== previous) {
    ctx.events.emit('pressure', report)
    if (level === 'critical') ctx.events.emit('alert', { name: 'memory_critical', severity: 'warning', detail: report })
    if (level === 'emergency') ctx.events.emit('alert', { name: 'memory_emergency', severity: 'critical', detail: report })
    for (const wake of [...ctx.levelWaiters]) wake()
    if (levelRank(level) > levelRank(previous)) schedulePressureActions(ctx)
  }
  return report
}

/** Queues one round of actions for the current level (at most one queued at a time). */
export function schedulePressureActions(ctx: EngineContext): void {
  if (queued.has(ctx) || ctx.closed) return
  queued.add(ctx)
  ctx.lane
    .run(async () => {
      queued.delete(ctx)
      if (!ctx.closed) await pressureActions(ctx)
    })
    .catch((error: unknown) => reportBackgroundError(ctx, 'pressure-actions-failed', error))
}

/**
 * The actions of DESIGN.md's table, per short resource (lane only). Each resource's level is
 * taken as it was when the round started: gc's own relief (20 % free) must not hide an
 * emergency whose target is 30 % free.
 */
export async function pressureActions(ctx: EngineContext): Promise<void> {
  const { warning, critical, emergency } = ctx.pressurePolicy.thresholds
  const trigger = new Map(pressureSignals(ctx).map((s) => [s.source, s.ratio]))
  if (![...trigger.values()].some((ratio) => ratio >= warning)) return
  // Taken now, as the trigger is: the relief below must not hide an emergency scopes could ease.
  const abortable = scopeSignals(ctx).some((s) => s.ratio >= emergency)
  // warning: gc (expired, orphaned, idle, and capacity relief) for every short resource.
  await runGc(ctx)
  for (const s of pressureSignals(ctx)) {
    const startedAt = Math.max(trigger.get(s.source) ?? 0, s.ratio)
    if (startedAt < critical) continue
    const atEmergency = startedAt >= emergency
    // Target: below warning at critical; 30 % free at emergency.
    const keep = atEmergency ? 0.7 : warning - ctx.pressurePolicy.hysteresis
    if (s.resource === 'memory') {
      // Memory is relieved by demotion only: the durable copies stay.
      const hotBytes = hotUsage(ctx)
      const target = s.source === 'budget:hot' ? keep * ctx.budgets.hot : hotBytes * Math.min(1, keep / startedAt)
      enforceHotBudget(ctx, target)
      // Entries first. A graph still over the target alone has its codes paged out (its links
      // stay) down to the working size at most, so that the level can settle back to normal.
      const graphTarget = Math.min(target, workingBytes(ctx, 'hot'))
      if (ctx.heldBytes > graphTarget) await ctx.heldRelief?.relieve(ctx.heldBytes - graphTarget)
    } else if (s.source === 'budget:cold') {
      if (atEmergency) await evictRanked(ctx, 'cold', keep * ctx.budgets.cold)
    } else if (s.source === 'budget:warm') {
      // Storage: compress (warm → cold) first; delete only at emergency.
      const warmTarget = keep * ctx.budgets.warm
      await relieveWarm(ctx, warmTarget)
      if (atEmergency && storedBytes(ctx, 'warm') > warmTarget) await evictRanked(ctx, 'warm', warmTarget)
    } else {
      // An outside storage signal (the origin's quota): our share of the excess is that
      // fraction of what we store. Compress first; at emergency, delete that share too, since
      // the signal does not show what compression gave back until it is sampled again.
      const share = 1 - Math.min(1, keep / startedAt)
      const total = storedBytes(ctx, 'all')
      await relieveWarm(ctx, storedBytes(ctx, 'warm') * (1 - share))
      if (atEmergency) await evictRanked(ctx, 'all', Math.max(0, storedBytes(ctx, 'all') - total * share))
    }
  }
  if (abortable) abortScopes(ctx)
  evaluatePressure(ctx)
}

/** Emergency: the signal of every non-critical scope is aborted so its task can stop early. */
function abortScopes(ctx: EngineContext): void {
  for (const scope of ctx.scopes.values()) {
    if (!scope.critical && !scope.controller.signal.aborted) {
      scope.controller.abort(new TiermemError('QUOTA_EXCEEDED', `task '${scope.taskId}' was aborted: memory pressure is at emergency`))
    }
  }
}

import { hotUsage, type EngineContext, type ExternalSignal } from '../engine/engine-context.ts'
import { COLD } from '../registry/registry.ts'
import { levelRank } from './pressure-level.ts'

/** The pressure signals: the engine's own byte budgets, and those from outside (ctx.externalSignals). */
export function pressureSignals(ctx: EngineContext): ExternalSignal[] {
  const { reg, budgets } = ctx
  const signals: ExternalSignal[] = []
  const add = (source: string, used: number, limit: number, resource: 'memory' | 'storage') => {
    if (limit === Number.POSITIVE_INFINITY) return
    signals.push({ source, used, limit, ratio: limit === 0 ? (used > 0 ? 1 : 0) : used / limit, resource })
  }
  add('budget:hot', hotUsage(ctx), budgets.hot, 'memory')
  add('budget:warm', reg.warmStoredBytes, budgets.warm, 'storage')
  add('budget:cold', reg.tierBytes[COLD]!, budgets.cold, 'storage')
  for (const signal of ctx.externalSignals.values()) signals.push(signal)
  return signals
}

/**
 * Whether the vector index alone holds the hot budget at or past its critical share. Its graph
 * counts in the hot budget; pressure pages its codes out (heldRelief) but not its links, so past
 * that, demotion and task scopes cannot bring the signal down: only a larger `hot.maxBytes` can.
 */
export function indexFillsHotBudget(ctx: EngineContext): boolean {
  return ctx.heldBytes > 0 && ctx.heldBytes >= ctx.pressurePolicy.thresholds.critical * ctx.budgets.hot
}

/**
 * The signals pausing or aborting task scopes can relieve: every one but the hot budget's while
 * the index alone fills it (pausing a task frees none of the index). Why: a memory whose index
 * outgrew its hot budget sat at emergency for good, so every new scope failed with SCOPE_PAUSED
 * and every running one was aborted at each pressure round, with nothing freed by either.
 */
export function scopeSignals(ctx: EngineContext): ExternalSignal[] {
  const indexBound = indexFillsHotBudget(ctx)
  return pressureSignals(ctx).filter((s) => !(indexBound && s.source === 'budget:hot'))
}

/**
 * Whether task scopes feel the level: it is `at` or worse because of a signal scopes can relieve
 * (within the level's hysteresis). Critical pauses new scopes; warning shrinks their quotas.
 */
export function scopesPressed(ctx: EngineContext, at: 'warning' | 'critical'): boolean {
  if (levelRank(ctx.level) < levelRank(at)) return false
  const { thresholds, hysteresis } = ctx.pressurePolicy
  return scopeSignals(ctx).some((s) => s.ratio >= thresholds[at] - hysteresis)
}

import { reportBackgroundError, type EngineContext } from '../engine/engine-context.ts'
import { runGc } from '../lifecycle/gc.ts'
import { runArchive } from '../lifecycle/archive.ts'
import { maybeCheckpoint } from '../persistence/journal.ts'
import { persistStats } from '../persistence/load.ts'
import { checkHealthAlert, monitorRound } from '../pressure/monitor.ts'
import { vectorIndex } from '../recall/vector-index.ts'
import { background } from './calls.ts'
import { cachedColdStats } from './stats.ts'
import type { PressureReport, SignalSource } from './types.ts'

/**
 * The engine's own upkeep, on the injected scheduler (ctx.timers): the maintenance loop (gc,
 * lazily persisted access statistics, checkpoints) and the pressure monitor. Each loop sets its
 * next run once the last has finished; close() cancels them.
 */
export function startBackground(ctx: EngineContext, maintenanceMs: number, sources: readonly SignalSource[]): { monitor(): Promise<PressureReport> } {
  if (maintenanceMs > 0) {
    ctx.timers.every(maintenanceMs, async () => {
      await background(ctx, 'maintenance-failed', async () => {
        await runGc(ctx)
        await runArchive(ctx, undefined)
        await persistStats(ctx)
        await maybeCheckpoint(ctx)
      })
      // Outside the lane task above: the save's own puts go through the lane.
      if (!ctx.closing)
        await vectorIndex(ctx)
          .save()
          .catch((error: unknown) => reportBackgroundError(ctx, 'vector-index-save-failed', error))
    })
  }
  const healthState = { alerted: 'none' as 'none' | 'warning' | 'critical' }
  const monitor = async (): Promise<PressureReport> => {
    const report = await monitorRound(ctx, sources)
    const coldStats = await cachedColdStats(ctx)
    checkHealthAlert(ctx, healthState, {
      latency: ctx.metrics.latencySummary(),
      hitRate: ctx.metrics.hitRate(),
      reads: ctx.metrics.gets(),
      pressure: report,
      coldDeadRatio: coldStats.deadRatio,
    })
    return report
  }
  if (ctx.pressurePolicy.checkIntervalMs > 0) {
    ctx.timers.every(ctx.pressurePolicy.checkIntervalMs, async () => {
      if (ctx.closing) return
      await monitor().then(
        () => undefined,
        (error: unknown) => reportBackgroundError(ctx, 'monitor-failed', error),
      )
    })
  }
  return { monitor }
}

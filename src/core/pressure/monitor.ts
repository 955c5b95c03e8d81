import { reportBackgroundError, type EngineContext } from '../engine/engine-context.ts'
import { assessHealth } from './health.ts'
import { elapsedNow } from './metrics.ts'
import { evaluatePressure, schedulePressureActions } from './pressure-controller.ts'
import type { PressureReport, SignalSource } from '../api/types.ts'

/**
 * One round of the pressure monitor (every pressure.checkIntervalMs, or checkPressure()):
 * sample the external signal sources, re-evaluate the level, queue the level's actions while
 * it is above normal, close a rate window and raise a health alert when the score falls.
 * A round costs a few counter reads plus whatever the sources cost (storage.estimate() is an
 * IPC round trip); it allocates nothing per entry.
 */
export async function monitorRound(ctx: EngineContext, sources: readonly SignalSource[]): Promise<PressureReport> {
  await Promise.all(
    sources.map(async (source) => {
      try {
        const sample = await source.sample()
        if (sample && Number.isFinite(sample.used) && Number.isFinite(sample.limit) && sample.limit > 0) {
          ctx.externalSignals.set(source.source, {
            source: source.source,
            resource: source.resource,
            used: sample.used,
            limit: sample.limit,
            ratio: sample.used / sample.limit,
          })
        } else {
          ctx.externalSignals.delete(source.source)
        }
      } catch (error) {
        ctx.metrics.fallbacks++
        ctx.externalSignals.delete(source.source)
        reportBackgroundError(ctx, `signal-failed:${source.source}`, error)
      }
    }),
  )
  const report = evaluatePressure(ctx)
  if (report.level !== 'normal') schedulePressureActions(ctx)
  ctx.metrics.closeWindow(elapsedNow())
  return report
}

/**
 * Seed 004's health alerts: an `alert` when the health score falls below 60 (warning) or 30
 * (critical), once per fall; it re-arms when the score recovers above 70.
 */
export function checkHealthAlert(ctx: EngineContext, state: { alerted: 'none' | 'warning' | 'critical' }, input: Parameters<typeof assessHealth>[0]): void {
  const health = assessHealth(input)
  const severity = health.score < 30 ? 'critical' : health.score < 60 ? 'warning' : undefined
  if (severity && severity !== state.alerted && !(state.alerted === 'critical' && severity === 'warning')) {
    state.alerted = severity
    ctx.events.emit('alert', { name: 'health', severity, detail: health })
  } else if (!severity && health.score > 70) {
    state.alerted = 'none'
  }
}

import type { LatencySummary, PressureReport, Recommendation, Tier } from '../api/types.ts'
import { TIERS } from '../api/types.ts'

/** Seed 002's latency thresholds per tier (p95, ms). */
export const LATENCY_THRESHOLDS_MS: Record<Tier, number> = { hot: 1, warm: 10, cold: 100 }

export interface HealthInput {
  latency: Record<Tier, LatencySummary>
  hitRate: Record<Tier, number>
  reads: number
  pressure: PressureReport
  coldDeadRatio: number
}

/**
 * A 0–100 health score with the recommendations that explain every point taken off
 * (seed 002): slow tiers, high utilisation, a low hot hit rate, a fragmented cold store.
 */
export function assessHealth(input: HealthInput): { score: number; recommendations: Recommendation[] } {
  let score = 100
  const recommendations: Recommendation[] = []
  for (const tier of TIERS) {
    const { p95, count } = input.latency[tier]
    if (count >= 20 && p95 > LATENCY_THRESHOLDS_MS[tier]) {
      score -= 15
      recommendations.push({
        type: 'latency',
        tier,
        priority: p95 > 5 * LATENCY_THRESHOLDS_MS[tier] ? 'high' : 'medium',
        message:
          `${tier} reads take ${p95.toFixed(2)} ms at p95, over the ${LATENCY_THRESHOLDS_MS[tier]} ms target; ` +
          (tier === 'hot' ? 'store smaller values or raise hot.maxBytes less often' : `promote frequently read entries or lower policy.promoteAfterAccesses`),
      })
    }
  }
  const penalty = { normal: 0, warning: 10, critical: 25, emergency: 40 }[input.pressure.level]
  if (penalty > 0) {
    score -= penalty
    const top = input.pressure.signals.reduce((a, b) => (b.ratio > a.ratio ? b : a), input.pressure.signals[0]!)
    recommendations.push({
      type: 'utilisation',
      priority: input.pressure.level === 'warning' ? 'medium' : 'high',
      message:
        `${top.source} is at ${(top.ratio * 100).toFixed(0)} % (${input.pressure.level}); raise that budget, ` +
        'delete entries you no longer need, or shorten layer TTLs',
    })
  }
  if (input.reads >= 100 && input.hitRate.hot < 0.5) {
    score -= 10
    recommendations.push({
      type: 'hit-rate',
      tier: 'hot',
      priority: 'low',
      message: `only ${(input.hitRate.hot * 100).toFixed(0)} % of reads are served hot; raise hot.maxBytes or policy.hotIdleMs`,
    })
  }
  if (input.coldDeadRatio > 0.5) {
    score -= 10
    recommendations.push({
      type: 'fragmentation',
      tier: 'cold',
      priority: 'medium',
      message: `${(input.coldDeadRatio * 100).toFixed(0)} % of cold storage is dead records; compact the cold store`,
    })
  }
  return { score: Math.max(0, score), recommendations }
}

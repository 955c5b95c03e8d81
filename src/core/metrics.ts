import { LatencyHistogram } from './latency-histogram.ts'
import type { LatencySummary, Tier } from './types.ts'
import { TIERS } from './types.ts'

/** Elapsed-time source for latency only; policy time comes from the injected clock. */
const perf = (globalThis as { performance?: { now(): number } }).performance
export const elapsedNow: () => number = perf ? () => perf.now() : () => 0

/** Hot reads are timed 1 in HOT_SAMPLE_EVERY (a power of two): timing each one would cost more than the read. */
export const HOT_SAMPLE_MASK = 31

/** Counters and histograms. Fixed size: nothing here grows with traffic. */
export class Metrics {
  /** Reads answered per tier (index 0 hot, 1 warm, 2 cold). */
  readonly hits = new Float64Array(3)
  misses = 0
  hotReads = 0
  readonly latency = [new LatencyHistogram(), new LatencyHistogram(), new LatencyHistogram()] as const
  promotions = 0
  demotions = 0
  evictions = 0
  errors = 0
  fallbacks = 0

  hitRate(): Record<Tier, number> {
    const total = this.hits[0]! + this.hits[1]! + this.hits[2]! + this.misses
    const rate = (i: number) => (total === 0 ? 0 : this.hits[i]! / total)
    return { hot: rate(0), warm: rate(1), cold: rate(2) }
  }

  latencySummary(): Record<Tier, LatencySummary> {
    const out = {} as Record<Tier, LatencySummary>
    TIERS.forEach((tier, i) => (out[tier] = this.latency[i as 0 | 1 | 2].summary()))
    return out
  }
}

import type { LatencySummary } from '../api/types.ts'

const BUCKETS = 100
const FIRST_BOUND_MS = 0.001
const GROWTH = 1.25
const LOG_GROWTH = Math.log(GROWTH)

/**
 * Latency in fixed logarithmic buckets (1 µs × 1.25^i, up to ~1 hour): constant memory however
 * many samples, percentiles within 25 % of the true value, exact max.
 */
export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS)
  count = 0
  max = 0

  record(ms: number): void {
    const index = ms <= FIRST_BOUND_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / FIRST_BOUND_MS) / LOG_GROWTH))
    this.counts[index]!++
    this.count++
    if (ms > this.max) this.max = ms
  }

  /** The upper bound of the bucket holding the q-quantile, never above the max seen. */
  quantile(q: number): number {
    if (this.count === 0) return 0
    const rank = Math.ceil(q * this.count)
    let seen = 0
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!
      if (seen >= rank) return Math.min(this.max, FIRST_BOUND_MS * Math.pow(GROWTH, i))
    }
    return this.max
  }

  summary(): LatencySummary {
    return { p50: this.quantile(0.5), p95: this.quantile(0.95), p99: this.quantile(0.99), max: this.max, count: this.count }
  }
}

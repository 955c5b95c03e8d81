import { LatencyHistogram } from './latency-histogram.ts'
import type { LatencySummary, MemoryRates, Tier } from '../api/types.ts'
import { TIERS } from '../api/types.ts'

/** Elapsed-time source for latency only; policy time comes from the injected clock. */
const perf = (globalThis as { performance?: { now(): number } }).performance
export const elapsedNow: () => number = perf ? () => perf.now() : () => 0

/**
 * Hot reads are timed one in 256: timing each would cost more than the read (measured: one in
 * 32 still added 7–13 % to a hot get in Node; one in 256 stays within noise). A getMany's hot
 * reads are timed together, one sample per call. Warm and cold reads, which take a store round
 * trip, are all timed.
 */
export const HOT_SAMPLE_MASK = 255

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
  puts = 0
  /** Latency sampling; off with `metrics: false`. Counters stay: they cost an increment. */
  enabled = true
  /** Counter values and time at the last rate window. */
  private window = { at: 0, gets: 0, puts: 0, promotions: 0, demotions: 0, evictions: 0, errors: 0 }
  lastRates: MemoryRates = { gets: 0, puts: 0, promotions: 0, demotions: 0, evictions: 0, errors: 0 }

  gets(): number {
    return this.hits[0]! + this.hits[1]! + this.hits[2]! + this.misses
  }

  totals(): MemoryRates & { fallbacks: number } {
    return {
      gets: this.gets(),
      puts: this.puts,
      promotions: this.promotions,
      demotions: this.demotions,
      evictions: this.evictions,
      errors: this.errors,
      fallbacks: this.fallbacks,
    }
  }

  /** Closes a rate window at `nowMs` (elapsed time): rates are the counters' growth per second since the last one. */
  closeWindow(nowMs: number): MemoryRates {
    const totals = this.totals()
    const seconds = (nowMs - this.window.at) / 1000
    if (seconds > 0 && this.window.at > 0) {
      const rate = (k: keyof MemoryRates) => (totals[k] - this.window[k]) / seconds
      this.lastRates = {
        gets: rate('gets'),
        puts: rate('puts'),
        promotions: rate('promotions'),
        demotions: rate('demotions'),
        evictions: rate('evictions'),
        errors: rate('errors'),
      }
    }
    this.window = {
      at: nowMs,
      gets: totals.gets,
      puts: totals.puts,
      promotions: totals.promotions,
      demotions: totals.demotions,
      evictions: totals.evictions,
      errors: totals.errors,
    }
    return this.lastRates
  }

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

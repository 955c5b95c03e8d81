import type { EvictionPolicy, ScoreWeights } from '../api/types.ts'

/** 1 for an entry used just now, halving every `halfLifeMs` of idleness. */
export function recency(idleMs: number, halfLifeMs: number): number {
  return Math.pow(2, -Math.max(0, idleMs) / halfLifeMs)
}

/** 0 for a never-read entry, approaching 1 as reads accumulate (10 reads ≈ 0.63). */
export function frequency(accessCount: number): number {
  return 1 - Math.exp(-accessCount / 10)
}

/**
 * Seed 004's promotion score in 0..1: a weighted mean of relevance, recency, frequency and
 * importance (weights normalised to sum 1).
 */
export function promotionScore(
  weights: ScoreWeights,
  entry: { relevance: number; importance: number; accessCount: number; idleMs: number },
  halfLifeMs: number,
): number {
  const total = weights.relevance + weights.recency + weights.frequency + weights.importance
  return (
    (weights.relevance * entry.relevance +
      weights.recency * recency(entry.idleMs, halfLifeMs) +
      weights.frequency * frequency(entry.accessCount) +
      weights.importance * entry.importance) /
    total
  )
}

/**
 * Eviction rank: lower goes first. `lru_with_importance` is seed 004's importance × recency / size;
 * `importance_based` drops the recency term; `manual` layers are never ranked (Infinity).
 * A small floor on importance keeps importance-0 entries ordered by recency and size.
 */
export function evictionRank(policy: EvictionPolicy, entry: { importance: number; sizeBytes: number; idleMs: number }, halfLifeMs: number): number {
  if (policy === 'manual') return Number.POSITIVE_INFINITY
  const importance = Math.max(entry.importance, 1e-3)
  const size = Math.max(entry.sizeBytes, 1)
  return policy === 'lru_with_importance' ? (importance * recency(entry.idleMs, halfLifeMs)) / size : importance / size
}

import type { PressureLevel, PressurePolicy } from '../api/types.ts'

const ORDER: readonly PressureLevel[] = ['normal', 'warning', 'critical', 'emergency']

export function levelRank(level: PressureLevel): number {
  return ORDER.indexOf(level)
}

function rawLevel(ratio: number, t: PressurePolicy['thresholds']): PressureLevel {
  if (ratio >= t.emergency) return 'emergency'
  if (ratio >= t.critical) return 'critical'
  if (ratio >= t.warning) return 'warning'
  return 'normal'
}

/**
 * The level for a ratio given the previous level. Rising is immediate; falling needs the ratio
 * `hysteresis` below the threshold of the level being left, so a ratio hovering at a
 * threshold does not make the level (and its actions and events) flap.
 */
export function nextLevel(ratio: number, previous: PressureLevel, policy: PressurePolicy): PressureLevel {
  const raised = rawLevel(ratio, policy.thresholds)
  if (levelRank(raised) >= levelRank(previous)) return raised
  const lowered = rawLevel(ratio + policy.hysteresis, policy.thresholds)
  return levelRank(lowered) < levelRank(previous) ? lowered : previous
}

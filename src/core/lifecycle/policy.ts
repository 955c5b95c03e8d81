import { TiermemError } from '../api/errors.ts'
import { defaultArchiveRules, validateArchiveRules } from './archive-rules.ts'
import { TIERS, type LayerPolicy, type LifecyclePolicy, type PolicyOverrides, type PressurePolicy, type Tier } from '../api/types.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const MiB = 1024 * 1024

/** Seed 004's three layers, with seed 001's short-term capacity on `interact`. */
export function defaultLayers(): Record<string, LayerPolicy> {
  return {
    interact: {
      ttlMs: DAY,
      maxBytes: 512 * MiB,
      maxEntries: 30,
      eviction: 'lru_with_importance',
      promoteTo: 'insights',
      promotion: { minScore: 0.7, minAccesses: 3, minAgeMs: 12 * HOUR },
      transfer: { occupancy: 0.5, minImportance: 0.6 },
      forceCleanup: { enabled: true, keepRatio: 0.9 },
    },
    insights: {
      ttlMs: 90 * DAY,
      maxBytes: 2048 * MiB,
      eviction: 'importance_based',
      promoteTo: 'assets',
      promotion: { minScore: 0.9, minAccesses: 10, minAgeMs: 30 * DAY },
    },
    assets: { maxBytes: 8192 * MiB, eviction: 'manual' },
  }
}

export function defaultLifecyclePolicy(): LifecyclePolicy {
  return {
    hotIdleMs: 5 * 60_000,
    warmIdleMs: DAY,
    promoteAfterAccesses: 10,
    defaultLayer: 'interact',
    layers: defaultLayers(),
    typeTiers: { evidence: 'warm' },
    maxHotEntryBytes: 64 * 1024,
    scoreWeights: { relevance: 0.3, importance: 0.3, frequency: 0.2, recency: 0.2 },
    recencyHalfLifeMs: DAY,
    archiveRules: defaultArchiveRules(),
  }
}

export function defaultPressurePolicy(): PressurePolicy {
  return {
    thresholds: { warning: 0.7, critical: 0.8, emergency: 0.95 },
    hysteresis: 0.05,
    checkIntervalMs: 5_000,
    scopeWaitMs: 5_000,
    taskQuotaBytes: Number.POSITIVE_INFINITY,
  }
}

export const DEFAULT_BUDGETS: Record<Tier, number> = { hot: 64 * MiB, warm: 1024 * MiB, cold: 4096 * MiB }

function invalid(message: string): TiermemError {
  return new TiermemError('INVALID_OPTION', message)
}

function checkNumber(name: string, value: unknown, min: number, max = Number.POSITIVE_INFINITY, allowInfinity = false): void {
  if (typeof value !== 'number' || Number.isNaN(value) || (!allowInfinity && !Number.isFinite(value)) || value < min || value > max) {
    throw invalid(`${name} must be a number from ${min} to ${max === Number.POSITIVE_INFINITY ? 'Infinity' : max}; got ${String(value)}`)
  }
}

/** Merges overrides into a policy (layers merge by name, each layer field by field) and validates the result. */
export function mergeLifecyclePolicy(base: LifecyclePolicy, overrides: PolicyOverrides | undefined): LifecyclePolicy {
  if (overrides === undefined) return base
  if (typeof overrides !== 'object' || overrides === null) throw invalid('policy must be an object')
  const layers: Record<string, LayerPolicy> = { ...base.layers }
  for (const [name, layer] of Object.entries(overrides.layers ?? {})) {
    const previous = layers[name]
    layers[name] = { ...(previous ?? { eviction: 'lru_with_importance' }), ...layer } as LayerPolicy
  }
  const merged: LifecyclePolicy = {
    ...base,
    ...overrides,
    layers,
    typeTiers: { ...base.typeTiers, ...overrides.typeTiers },
    scoreWeights: { ...base.scoreWeights, ...overrides.scoreWeights },
  }
  validateLifecyclePolicy(merged)
  return merged
}

export function validateLifecyclePolicy(policy: LifecyclePolicy): void {
  checkNumber('policy.hotIdleMs', policy.hotIdleMs, 0)
  checkNumber('policy.warmIdleMs', policy.warmIdleMs, 0)
  checkNumber('policy.promoteAfterAccesses', policy.promoteAfterAccesses, 0)
  checkNumber('policy.maxHotEntryBytes', policy.maxHotEntryBytes, 0, Number.POSITIVE_INFINITY, true)
  checkNumber('policy.recencyHalfLifeMs', policy.recencyHalfLifeMs, 1)
  validateArchiveRules(policy.archiveRules)
  const weights = Object.values(policy.scoreWeights)
  for (const w of weights) checkNumber('policy.scoreWeights.*', w, 0)
  if (weights.reduce((a, b) => a + b, 0) <= 0) throw invalid('policy.scoreWeights must not all be 0')
  if (!policy.layers[policy.defaultLayer]) {
    throw invalid(`policy.defaultLayer '${policy.defaultLayer}' is not one of the layers: ${Object.keys(policy.layers).join(', ')}`)
  }
  for (const [type, tier] of Object.entries(policy.typeTiers)) {
    if (!TIERS.includes(tier)) throw invalid(`policy.typeTiers.${type} must be hot, warm or cold`)
  }
  for (const [name, layer] of Object.entries(policy.layers)) {
    const at = `policy.layers.${name}`
    if (!['lru_with_importance', 'importance_based', 'manual'].includes(layer.eviction)) {
      throw invalid(`${at}.eviction must be lru_with_importance, importance_based or manual`)
    }
    if (layer.ttlMs !== undefined) checkNumber(`${at}.ttlMs`, layer.ttlMs, 0)
    if (layer.maxBytes !== undefined) checkNumber(`${at}.maxBytes`, layer.maxBytes, 0, Number.POSITIVE_INFINITY, true)
    if (layer.maxEntries !== undefined) checkNumber(`${at}.maxEntries`, layer.maxEntries, 1, Number.POSITIVE_INFINITY, true)
    if (layer.promoteTo !== undefined && (!policy.layers[layer.promoteTo] || layer.promoteTo === name)) {
      throw invalid(`${at}.promoteTo '${layer.promoteTo}' must name another layer`)
    }
    if (layer.promotion) {
      checkNumber(`${at}.promotion.minScore`, layer.promotion.minScore, 0, 1)
      checkNumber(`${at}.promotion.minAccesses`, layer.promotion.minAccesses, 0)
      checkNumber(`${at}.promotion.minAgeMs`, layer.promotion.minAgeMs, 0)
    }
    if (layer.transfer) {
      checkNumber(`${at}.transfer.occupancy`, layer.transfer.occupancy, 0, 1)
      checkNumber(`${at}.transfer.minImportance`, layer.transfer.minImportance, 0, 1)
    }
    if (layer.forceCleanup) {
      checkNumber(`${at}.forceCleanup.keepRatio`, layer.forceCleanup.keepRatio, 0, 1)
      if (typeof layer.forceCleanup.enabled !== 'boolean') throw invalid(`${at}.forceCleanup.enabled must be a boolean`)
    }
  }
  // A promotion chain must end: follow promoteTo from every layer.
  for (const name of Object.keys(policy.layers)) {
    const seen = new Set<string>()
    for (let at: string | undefined = name; at !== undefined; at = policy.layers[at]?.promoteTo) {
      if (seen.has(at)) throw invalid(`policy.layers: promoteTo forms a cycle through '${at}'`)
      seen.add(at)
    }
  }
}

export function mergePressurePolicy(base: PressurePolicy, overrides: Partial<PressurePolicy> | undefined): PressurePolicy {
  if (overrides === undefined) return base
  if (typeof overrides !== 'object' || overrides === null) throw invalid('pressure must be an object')
  const merged: PressurePolicy = { ...base, ...overrides, thresholds: { ...base.thresholds, ...overrides.thresholds } }
  const { warning, critical, emergency } = merged.thresholds
  checkNumber('pressure.thresholds.warning', warning, 0, 1)
  checkNumber('pressure.thresholds.critical', critical, 0, 1)
  checkNumber('pressure.thresholds.emergency', emergency, 0, 1)
  if (!(warning <= critical && critical <= emergency)) {
    throw invalid('pressure.thresholds must rise: warning ≤ critical ≤ emergency')
  }
  checkNumber('pressure.hysteresis', merged.hysteresis, 0, 0.5)
  checkNumber('pressure.checkIntervalMs', merged.checkIntervalMs, 0)
  checkNumber('pressure.scopeWaitMs', merged.scopeWaitMs, 0)
  checkNumber('pressure.taskQuotaBytes', merged.taskQuotaBytes, 0, Number.POSITIVE_INFINITY, true)
  return merged
}

export function checkBudget(name: string, value: unknown): number {
  checkNumber(name, value, 0, Number.POSITIVE_INFINITY, true)
  return value as number
}

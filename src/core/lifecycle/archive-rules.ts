import { TiermemError } from '../api/errors.ts'
import type { ArchiveRule } from '../api/types.ts'

/** Archive rules as data (they cross to the worker and into configure()): defaults and their checks. */

const DAY = 24 * 3_600_000

/** Seed 002's rules, applied highest priority first. */
export function defaultArchiveRules(): ArchiveRule[] {
  return [
    { name: 'old-unimportant', policy: 'time', when: { olderThanMs: 90 * DAY, importanceBelow: 0.3 }, level: 9, priority: 8 },
    { name: 'unaccessed', policy: 'access', when: { idleLongerThanMs: 30 * DAY, accessesBelow: 2 }, level: 7, priority: 7 },
    { name: 'large-rarely-read', policy: 'size', when: { largerThanBytes: 10 * 1024, readsPerDayBelow: 0.1 }, level: 8, priority: 6 },
  ]
}

const WHEN_FIELDS = ['olderThanMs', 'importanceBelow', 'idleLongerThanMs', 'accessesBelow', 'largerThanBytes', 'readsPerDayBelow'] as const

export function validateArchiveRules(rules: unknown): void {
  if (!Array.isArray(rules)) throw new TiermemError('INVALID_OPTION', 'policy.archiveRules must be an array of rules')
  const names = new Set<string>()
  rules.forEach((rule: ArchiveRule, i) => {
    const at = `policy.archiveRules[${i}]`
    if (typeof rule !== 'object' || rule === null) throw new TiermemError('INVALID_OPTION', `${at} must be an object`)
    if (typeof rule.name !== 'string' || rule.name.length === 0 || names.has(rule.name))
      throw new TiermemError('INVALID_OPTION', `${at}.name must be a unique non-empty string`)
    names.add(rule.name)
    if (!['time', 'importance', 'access', 'size'].includes(rule.policy))
      throw new TiermemError('INVALID_OPTION', `${at}.policy must be time, importance, access or size`)
    if (!Number.isInteger(rule.level) || rule.level < 1 || rule.level > 9) throw new TiermemError('INVALID_OPTION', `${at}.level must be a deflate level 1..9`)
    if (typeof rule.priority !== 'number' || !Number.isFinite(rule.priority)) throw new TiermemError('INVALID_OPTION', `${at}.priority must be a number`)
    if (typeof rule.when !== 'object' || rule.when === null) throw new TiermemError('INVALID_OPTION', `${at}.when must be an object of conditions`)
    const given = Object.keys(rule.when)
    if (given.length === 0) throw new TiermemError('INVALID_OPTION', `${at}.when needs at least one condition (a rule without one would archive everything)`)
    for (const name of given) {
      if (!(WHEN_FIELDS as readonly string[]).includes(name))
        throw new TiermemError('INVALID_OPTION', `${at}.when.${name} is not a condition; known: ${WHEN_FIELDS.join(', ')}`)
      const value = rule.when[name as keyof ArchiveRule['when']]
      if (typeof value !== 'number' || Number.isNaN(value) || value < 0) throw new TiermemError('INVALID_OPTION', `${at}.when.${name} must be a number ≥ 0`)
    }
  })
}

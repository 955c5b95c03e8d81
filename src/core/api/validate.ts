import { TiermemError } from './errors.ts'
import { isWellFormed } from '../persistence/storable.ts'
import { TIERS, type PutOptions, type Tier } from './types.ts'

export const MAX_KEY_LENGTH = 1024
export const DEFAULT_NAMESPACE = 'default'
const MAX_NAME_LENGTH = 256

const PUT_OPTION_KEYS = new Set([
  'type',
  'importance',
  'relevance',
  'ttlMs',
  'tier',
  'layer',
  'namespace',
  'taskId',
  'tags',
  'evictable',
  'durable',
  'embed',
  'vector',
  'dedupe',
])

export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new TiermemError('INVALID_KEY', `keys are non-empty strings of at most ${MAX_KEY_LENGTH} characters; got ${describe(key)}`)
  }
  // Stores keep names as UTF-8: a lone surrogate would come back as another key after a reopen.
  if (!isWellFormed(key))
    throw new TiermemError('INVALID_KEY', `keys must not hold a lone surrogate (half of a UTF-16 pair); got ${describe(key)}; use key.toWellFormed()`)
}

/** Namespaces tiermem keeps for itself (the embedding cache): users cannot name them. */
export const RESERVED_NAMESPACE_PREFIX = 'tiermem:'

export function isReservedNamespace(namespace: string): boolean {
  return namespace.startsWith(RESERVED_NAMESPACE_PREFIX)
}

export function checkNamespace(namespace: unknown): string {
  if (namespace === undefined) return DEFAULT_NAMESPACE
  if (typeof namespace === 'string' && isReservedNamespace(namespace)) {
    throw new TiermemError(
      'INVALID_OPTION',
      `namespaces starting with '${RESERVED_NAMESPACE_PREFIX}' are tiermem's own (the embedding cache); got '${namespace}'`,
    )
  }
  if (
    typeof namespace !== 'string' ||
    namespace.length === 0 ||
    namespace.length > MAX_NAME_LENGTH ||
    namespace.includes('\u0000') ||
    !isWellFormed(namespace)
  ) {
    throw new TiermemError(
      'INVALID_OPTION',
      `namespace must be a non-empty string of at most ${MAX_NAME_LENGTH} characters without NUL or lone surrogates; got ${describe(namespace)}`,
    )
  }
  return namespace
}

function fraction(name: string, value: unknown): void {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new TiermemError('INVALID_OPTION', `${name} must be a number from 0 to 1; got ${describe(value)}`)
  }
}

export function shortName(name: string, value: unknown, max = MAX_NAME_LENGTH): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || !isWellFormed(value)) {
    throw new TiermemError('INVALID_OPTION', `${name} must be a non-empty string of at most ${max} characters without lone surrogates; got ${describe(value)}`)
  }
}

/** Validates put options; layer existence is checked by the caller, which knows the policy. */
export function checkPutOptions(options: PutOptions | undefined, extraKeys?: ReadonlySet<string>): void {
  if (options === undefined) return
  if (typeof options !== 'object' || options === null) {
    throw new TiermemError('INVALID_OPTION', 'put options must be an object')
  }
  for (const name in options) {
    if (!PUT_OPTION_KEYS.has(name) && !extraKeys?.has(name)) {
      throw new TiermemError('INVALID_OPTION', `unknown put option '${name}'; known: ${[...PUT_OPTION_KEYS].join(', ')}`)
    }
  }
  if (options.type !== undefined) shortName('type', options.type, 64)
  if (options.importance !== undefined) fraction('importance', options.importance)
  if (options.relevance !== undefined) fraction('relevance', options.relevance)
  if (options.ttlMs !== undefined && (typeof options.ttlMs !== 'number' || !Number.isFinite(options.ttlMs) || options.ttlMs < 0)) {
    throw new TiermemError('INVALID_OPTION', `ttlMs must be a finite number ≥ 0 (milliseconds); got ${describe(options.ttlMs)}`)
  }
  if (options.tier !== undefined && !TIERS.includes(options.tier)) {
    throw new TiermemError('INVALID_OPTION', `tier must be 'hot', 'warm' or 'cold'; got ${describe(options.tier)}`)
  }
  if (options.layer !== undefined) shortName('layer', options.layer)
  if (options.namespace !== undefined) checkNamespace(options.namespace)
  if (options.taskId !== undefined) shortName('taskId', options.taskId)
  if (options.tags !== undefined) {
    if (!Array.isArray(options.tags) || !options.tags.every((t) => typeof t === 'string' && t.length > 0 && t.length <= MAX_NAME_LENGTH && isWellFormed(t))) {
      throw new TiermemError('INVALID_OPTION', `tags must be an array of non-empty strings of at most ${MAX_NAME_LENGTH} characters without lone surrogates`)
    }
  }
  if (options.embed !== undefined) {
    if (typeof options.embed !== 'boolean' && !(typeof options.embed === 'string' && isWellFormed(options.embed))) {
      throw new TiermemError('INVALID_OPTION', 'embed must be true (embed the value, or its text) or the text to embed, without lone surrogates')
    }
    if (options.vector !== undefined) throw new TiermemError('INVALID_OPTION', 'a put takes embed or vector, not both')
  }
  if (options.vector !== undefined && !(options.vector instanceof Float32Array && options.vector.length > 0 && allFinite(options.vector))) {
    throw new TiermemError('INVALID_OPTION', 'vector must be a non-empty Float32Array of finite numbers')
  }
  if (options.evictable !== undefined && typeof options.evictable !== 'boolean') {
    throw new TiermemError('INVALID_OPTION', 'evictable must be a boolean')
  }
  if (options.durable !== undefined && typeof options.durable !== 'boolean') {
    throw new TiermemError('INVALID_OPTION', 'durable must be a boolean')
  }
  if (options.dedupe !== undefined && typeof options.dedupe !== 'boolean') throw new TiermemError('INVALID_OPTION', 'dedupe must be a boolean')
  if (options.durable === false && options.tier !== undefined && options.tier !== 'hot') {
    throw new TiermemError('INVALID_OPTION', `a durable: false entry lives only in hot memory; tier '${options.tier}' needs durable: true`)
  }
}

export function checkTier(tier: unknown): asserts tier is Tier {
  if (!TIERS.includes(tier as Tier)) throw new TiermemError('INVALID_OPTION', `tier must be hot, warm or cold; got ${describe(tier)}`)
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value)
  if (value === null || value === undefined || typeof value !== 'object') return String(value)
  return Array.isArray(value) ? 'an array' : 'an object'
}

/** Texts to embed: an array of well-formed strings (a lone surrogate would hash like another text). */
export function checkTexts(texts: unknown): asserts texts is string[] {
  if (!Array.isArray(texts)) throw new TiermemError('INVALID_VALUE', 'embed takes an array of strings')
  for (const text of texts) {
    if (typeof text !== 'string') throw new TiermemError('INVALID_VALUE', `embed takes strings; got ${describe(text)}`)
    if (!isWellFormed(text)) throw new TiermemError('INVALID_VALUE', 'a text to embed has a lone surrogate; text.toWellFormed() mends it')
  }
}

/** Whether every value is finite (a loop: `every(Number.isFinite)` boxed each value, ~4 KB of garbage a 384-dim vector). */
export function allFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return false
  return true
}

import type { EngineContext } from '../engine/engine-context.ts'
import { toEntryInfo } from '../registry/entry-record.ts'
import { TiermemError } from './errors.ts'
import { TIER_NAMES } from '../registry/registry.ts'
import type { EntryInfo, QueryFilter } from './types.ts'
import { checkNamespace, checkTier, isReservedNamespace } from './validate.ts'

const FILTER_FIELDS = new Set(['namespace', 'type', 'tier', 'layer', 'taskId', 'tag', 'limit'])

/** Refuses a filter that is not one: a misspelt field would otherwise match everything. */
export function checkQueryFilter(filter: unknown): asserts filter is QueryFilter {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) throw new TiermemError('INVALID_OPTION', 'query takes a filter object')
  for (const field in filter) {
    if (!FILTER_FIELDS.has(field)) throw new TiermemError('INVALID_OPTION', `unknown query filter field '${field}'; known: ${[...FILTER_FIELDS].join(', ')}`)
  }
  const f = filter as QueryFilter
  if (f.namespace !== undefined) checkNamespace(f.namespace)
  if (f.tier !== undefined) checkTier(f.tier)
  for (const name of ['type', 'layer', 'taskId', 'tag'] as const) {
    if (f[name] !== undefined && typeof f[name] !== 'string') throw new TiermemError('INVALID_OPTION', `query ${name} must be a string`)
  }
  if (f.limit !== undefined && (typeof f.limit !== 'number' || !(f.limit >= 0))) throw new TiermemError('INVALID_OPTION', 'query limit must be a number ≥ 0')
}

/** query(): entries matching every given field, in slot order, expired ones left out. */
export function queryEntries(ctx: EngineContext, filter: QueryFilter): EntryInfo[] {
  return matchingSlots(ctx, filter).map((slot) => toEntryInfo(ctx.reg, slot))
}

/** The slots of the live entries a filter matches (up to its limit), in slot order: what query, archive and restore select. */
export function matchingSlots(ctx: EngineContext, filter: QueryFilter): number[] {
  const { reg } = ctx
  checkQueryFilter(filter)
  const namespace = filter.namespace
  const limit = filter.limit ?? Number.POSITIVE_INFINITY
  const typeId = filter.type === undefined ? undefined : reg.typeNames.lookup(filter.type)
  const layerId = filter.layer === undefined ? undefined : reg.layerNames.lookup(filter.layer)
  if ((filter.type !== undefined && typeId === undefined) || (filter.layer !== undefined && layerId === undefined)) return []
  const tierCode = filter.tier === undefined ? undefined : TIER_NAMES.indexOf(filter.tier)
  const now = ctx.clock.now()
  const out: number[] = []
  for (const slot of reg.slots()) {
    if (out.length >= limit) break
    if (reg.expiresAt[slot]! <= now) continue
    if (namespace !== undefined ? reg.namespaces[slot] !== namespace : isReservedNamespace(reg.namespaces[slot]!)) continue
    if (typeId !== undefined && reg.type[slot] !== typeId) continue
    if (layerId !== undefined && reg.layer[slot] !== layerId) continue
    if (tierCode !== undefined && reg.tier[slot] !== tierCode) continue
    if (filter.taskId !== undefined && reg.taskIds.get(slot) !== filter.taskId) continue
    if (filter.tag !== undefined && !reg.tags.get(slot)?.includes(filter.tag)) continue
    out.push(slot)
  }
  return out
}

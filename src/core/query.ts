import type { EngineContext } from './engine-context.ts'
import { toEntryInfo } from './entry-record.ts'
import { TiermemError } from './errors.ts'
import { TIER_NAMES } from './registry.ts'
import type { EntryInfo, QueryFilter } from './types.ts'
import { checkNamespace, checkTier } from './validate.ts'

/** query(): entries matching every given field, in slot order, expired ones left out. */
export function queryEntries(ctx: EngineContext, filter: QueryFilter): EntryInfo[] {
  const { reg } = ctx
  if (typeof filter !== 'object' || filter === null) throw new TiermemError('INVALID_OPTION', 'query takes a filter object')
  const namespace = filter.namespace === undefined ? undefined : checkNamespace(filter.namespace)
  if (filter.tier !== undefined) checkTier(filter.tier)
  const limit = filter.limit ?? Number.POSITIVE_INFINITY
  if (typeof limit !== 'number' || !(limit >= 0)) throw new TiermemError('INVALID_OPTION', 'query limit must be a number ≥ 0')
  const typeId = filter.type === undefined ? undefined : reg.typeNames.lookup(filter.type)
  const layerId = filter.layer === undefined ? undefined : reg.layerNames.lookup(filter.layer)
  if ((filter.type !== undefined && typeId === undefined) || (filter.layer !== undefined && layerId === undefined)) return []
  const tierCode = filter.tier === undefined ? undefined : TIER_NAMES.indexOf(filter.tier)
  const now = ctx.clock.now()
  const out: EntryInfo[] = []
  for (const slot of reg.slots()) {
    if (out.length >= limit) break
    if (reg.expiresAt[slot]! <= now) continue
    if (namespace !== undefined && reg.namespaces[slot] !== namespace) continue
    if (typeId !== undefined && reg.type[slot] !== typeId) continue
    if (layerId !== undefined && reg.layer[slot] !== layerId) continue
    if (tierCode !== undefined && reg.tier[slot] !== tierCode) continue
    if (filter.taskId !== undefined && reg.taskIds[slot] !== filter.taskId) continue
    if (filter.tag !== undefined && !reg.tags.get(slot)?.includes(filter.tag)) continue
    out.push(toEntryInfo(reg, slot))
  }
  return out
}

import { hashBytes } from '../persistence/content-hash.ts'
import type { EngineContext } from './engine-context.ts'
import { readRecord, storeKeyOf, type EntryRecord } from '../registry/entry-record.ts'
import { TiermemError } from '../api/errors.ts'
import type { Change } from '../persistence/journal.ts'
import { COLD, DURABLE, EVICTABLE, HOT, MAX_TYPES, REFERENCED, SCOPE_HELD, WARM } from '../registry/registry.ts'
import type { ScopeState } from '../lifecycle/scope-state.ts'
import { scopesPressed } from '../pressure/pressure-signals.ts'
import type { EntryInfo, PutOptions } from '../api/types.ts'

const TIER_CODES = { hot: HOT, warm: WARM, cold: COLD } as const

/** A validated, encoded put waiting for its group to commit. */
export interface PreparedPut {
  namespace: string
  key: string
  storeKey: string
  value: unknown
  bytes: Uint8Array
  options: PutOptions
  layer: string
  scope: ScopeState | undefined
  /** The clock when put was called: createdAt and expiry count from the call, not the commit. */
  at: number
  /** Puts that succeed or fail together (one putMany, an entry and its vector); undefined for a put on its own. */
  unit?: object
  /** A put whose bytes are still being made (a vector being embedded): its group waits for it; if it fails, its unit fails. */
  ready?: Promise<void>
  /** A put that must land with this one (the entry's vector), queued right after it. */
  companion?: PreparedPut
  /**
   * Stored alone in warm, never packed into a page: a value read at random one by one (an
   * entry's vector, read to re-rank recall's candidates), where a page would make each read
   * fetch 32 KiB for 1.5 (measured in Chromium: 20 random reads, 6.5 ms vs 2.2 ms at p50).
   */
  alone?: boolean
  /** put(..., { dedupe: true }): merged with a stored entry holding the same bytes, if there is one (put-dedupe.ts). */
  dedupe?: boolean
  /** A put restored from a backup: the entry's times and access count as the backup recorded them, not the put's. */
  restored?: Partial<Pick<EntryRecord, 'createdAt' | 'lastAccessedAt' | 'accessCount' | 'expiresAt'>>
  resolve(info: EntryInfo): void
  reject(error: unknown): void
}

/** One put of a group, planned: the record it writes and the warm change that carries it. */
export interface Planned {
  item: PreparedPut
  record: EntryRecord
  /** The warm ops and journal entry that must land together with this put. */
  change: Change
  /** The placement asked for; cold entries are written warm first, then moved. */
  wantCold: boolean
  /** The put replaces an entry whose value is in cold: that record goes once this put has landed. */
  replacesCold: boolean
  replacesAlone: string | undefined
  slot: number
  /** Set once the put has landed and the registry holds it. */
  info?: EntryInfo
  /**
   * What planning it changed in the group's running totals, to take back if its unit fails. Only
   * items of a putMany need it: a put on its own is refused before it changes anything.
   */
  undo: Undo | undefined
}

interface Undo {
  prevLatest: EntryRecord | undefined
  priorLayer: string | undefined
  priorSize: number
  priorDeletable: boolean
  scopeDelta: number
  addedType: string | undefined
  addedReplaced: number
}

/** The running totals of a group being planned: each put is checked against the ones before it. */
export interface GroupPlan {
  planned: Planned[]
  /** Each key's record after the puts planned so far. */
  latest: Map<string, EntryRecord>
  /** Registry slots whose entries the group replaces. */
  replaced: Set<number>
  layerBytes: Map<string, number>
  layerCount: Map<string, number>
  /** Per layer, planned entries that cleanup could delete (refCount 0, evictable). */
  layerDeletable: Map<string, number>
  scopeDelta: Map<ScopeState, number>
  newTypes: Set<string>
}

export function newGroupPlan(): GroupPlan {
  return {
    planned: [],
    latest: new Map(),
    replaced: new Set(),
    layerBytes: new Map(),
    layerCount: new Map(),
    layerDeletable: new Map(),
    scopeDelta: new Map(),
    newTypes: new Set(),
  }
}

const add = <K>(map: Map<K, number>, key: K, by: number) => map.set(key, (map.get(key) ?? 0) + by)
const deletable = (r: EntryRecord) => r.refCount === 0 && (r.flags & EVICTABLE) !== 0

/**
 * Plans a group's puts in issue order. A unit (one putMany) is planned whole or not at all: the
 * first refusal among its items rejects every item of it and takes its plans back, so the puts
 * after it are checked as if it had never been issued.
 */
export function planGroup(ctx: EngineContext, items: readonly PreparedPut[]): GroupPlan {
  const plan = newGroupPlan()
  for (let start = 0; start < items.length;) {
    const unit = items[start]!.unit
    let end = start + 1
    while (unit !== undefined && end < items.length && items[end]!.unit === unit) end++
    const mark = plan.planned.length
    let refusal: unknown
    for (let i = start; i < end && refusal === undefined; i++) {
      const planned = planPut(ctx, plan, items[i]!)
      if (planned instanceof TiermemError) refusal = planned
      else plan.planned.push(planned)
    }
    if (refusal !== undefined) {
      while (plan.planned.length > mark) unplan(plan, plan.planned.pop()!)
      for (let i = start; i < end; i++) items[i]!.reject(refusal)
    }
    start = end
  }
  return plan
}

function planPut(ctx: EngineContext, plan: GroupPlan, item: PreparedPut): Planned | TiermemError {
  const { reg } = ctx
  const slot = reg.find(item.namespace, item.key)
  const prevLatest = plan.latest.get(item.storeKey)
  const prior = prevLatest ?? (slot >= 0 ? readRecord(reg, slot) : undefined)
  const visiblePrior = prior !== undefined && prior.expiresAt > item.at ? prior : undefined
  const size = item.bytes.byteLength
  const layerPolicy = ctx.policy.layers[item.layer]!
  const o = item.options
  const type = o.type ?? 'context'
  const scope = item.scope

  if (!reg.typeNames.has(type) && !plan.newTypes.has(type) && reg.typeNames.size + plan.newTypes.size >= MAX_TYPES) {
    return new TiermemError(
      'INVALID_OPTION',
      `more than ${MAX_TYPES} distinct entry types would be in use; use tags for open-ended labels, or delete entries of unused types`,
    )
  }
  // A manual layer is never evicted from: a put that would overflow its budget fails instead.
  if (layerPolicy.eviction === 'manual' && layerPolicy.maxBytes !== undefined) {
    const layerId = reg.layerNames.lookup(item.layer)
    const current = (layerId === undefined ? 0 : (reg.layerBytes[layerId] ?? 0)) + (plan.layerBytes.get(item.layer) ?? 0)
    const replaced = prior && prior.layer === item.layer ? prior.sizeBytes : 0
    if (current - replaced + size > layerPolicy.maxBytes) {
      return new TiermemError(
        'QUOTA_EXCEEDED',
        `layer '${item.layer}' is full (${layerPolicy.maxBytes} bytes, eviction 'manual'); delete entries from it or raise its maxBytes`,
      )
    }
  }
  const ownedByScope = scope !== undefined && prior !== undefined && (prior.flags & SCOPE_HELD) !== 0 && prior.taskId === scope.taskId
  let scopeDelta = 0
  if (scope) {
    if (scope.closed) return new TiermemError('CLOSED', `the scope of task '${scope.taskId}' is closed`)
    // A scope writes only what it created: never a user's entry, nor another scope's.
    if (visiblePrior && !ownedByScope) {
      return new TiermemError(
        'INVALID_KEY',
        `'${item.key}' is an entry task scope '${scope.taskId}' did not write; a scope never takes over other entries — use another key`,
      )
    }
    const owned = scope.owned.get(item.storeKey) ?? 0
    const used = scope.usedBytes + (plan.scopeDelta.get(scope) ?? 0) - owned
    const quota = effectiveQuota(ctx, scope)
    if (used + size > quota) {
      return new TiermemError(
        'QUOTA_EXCEEDED',
        `task '${scope.taskId}' would use ${used + size} bytes, over its quota of ${Math.floor(quota)}; close finished scopes or raise quotaBytes`,
      )
    }
    scopeDelta = size - owned
  }

  const durable = o.durable ?? true
  const tier = initialTier(ctx, item, type, durable)
  const ttlMs = o.ttlMs ?? Number.NaN
  const lifetime = Number.isNaN(ttlMs) ? layerPolicy.ttlMs : ttlMs
  const importance = o.importance ?? 0.5
  const heldByScope = scope !== undefined || (prior !== undefined && (prior.flags & SCOPE_HELD) !== 0)
  const refCount = (prior?.refCount ?? 0) + (scope && !ownedByScope ? 1 : 0)
  // Referenced while someone holds it. A put after the last release starts the entry afresh: the
  // release came first, so the gc that collects orphans must not delete the value put after it.
  const referenced = refCount > 0
  const hash = hashBytes(item.bytes)
  const now = item.at
  const record: EntryRecord = {
    key: item.key,
    namespace: item.namespace,
    type,
    layer: item.layer,
    tier: tier === COLD ? WARM : tier,
    importance,
    relevance: o.relevance ?? importance,
    createdAt: now,
    lastAccessedAt: now,
    accessCount: 0,
    sizeBytes: size,
    ttlMs,
    expiresAt: lifetime === undefined ? Number.POSITIVE_INFINITY : now + lifetime,
    taskId: o.taskId ?? scope?.taskId ?? (heldByScope ? prior?.taskId : undefined),
    tags: o.tags ? [...o.tags] : undefined,
    flags: ((o.evictable ?? true) ? EVICTABLE : 0) | (durable ? DURABLE : 0) | (referenced ? REFERENCED : 0) | (heldByScope ? SCOPE_HELD : 0),
    refCount,
    hashHi: hash.hi,
    hashLo: hash.lo,
    page: 0,
    pageOffset: 0,
    archived: 0,
  }
  if (item.restored) Object.assign(record, item.restored)
  const full = layerFull(ctx, plan, item, record, prior)
  if (full) return full

  // The prior value is stored alone in warm, under this key (a prior put of this group counts:
  // its page is not known yet, and deleting a key nothing holds is harmless).
  const priorAlone = prior !== undefined && (prior.flags & DURABLE) !== 0 && prior.tier !== COLD && prior.page === 0
  const change: Change = {}
  if (item.unit) change.unit = item.unit
  if (durable) {
    change.ops = [{ type: 'put', space: 'values', key: item.storeKey, value: item.bytes }]
    change.entry = record
  } else if (prior && prior.flags & DURABLE) {
    change.entry = item.storeKey
    if (priorAlone) change.ops = [{ type: 'delete', space: 'values', key: item.storeKey }]
  }

  const priorDeletable = prevLatest !== undefined && deletable(prevLatest)
  const undo: Undo | undefined =
    item.unit === undefined
      ? undefined
      : {
          prevLatest,
          priorLayer: prior?.layer,
          priorSize: prior?.sizeBytes ?? 0,
          priorDeletable,
          scopeDelta,
          addedType: undefined,
          addedReplaced: -1,
        }
  if (!reg.typeNames.has(type) && !plan.newTypes.has(type)) {
    plan.newTypes.add(type)
    if (undo) undo.addedType = type
  }
  if (scope) add(plan.scopeDelta, scope, scopeDelta)
  if (prior) {
    add(plan.layerBytes, prior.layer, -prior.sizeBytes)
    add(plan.layerCount, prior.layer, -1)
    if (priorDeletable) add(plan.layerDeletable, prior.layer, -1)
  }
  add(plan.layerBytes, item.layer, size)
  add(plan.layerCount, item.layer, 1)
  if (deletable(record)) add(plan.layerDeletable, item.layer, 1)
  plan.latest.set(item.storeKey, record)
  if (slot >= 0 && !plan.replaced.has(slot)) {
    plan.replaced.add(slot)
    if (undo) undo.addedReplaced = slot
  }
  const replacesCold = prior !== undefined && (prior.flags & DURABLE) !== 0 && prior.tier === COLD
  return { item, record, change, wantCold: tier === COLD, replacesCold, replacesAlone: priorAlone ? item.storeKey : undefined, slot: -1, undo }
}

/** Takes a planned put back out of the group's running totals (its unit failed). */
function unplan(plan: GroupPlan, p: Planned): void {
  const { item, record } = p
  const undo = p.undo!
  if (undo.prevLatest) plan.latest.set(item.storeKey, undo.prevLatest)
  else plan.latest.delete(item.storeKey)
  if (undo.addedType !== undefined) plan.newTypes.delete(undo.addedType)
  if (item.scope) add(plan.scopeDelta, item.scope, -undo.scopeDelta)
  if (undo.priorLayer !== undefined) {
    add(plan.layerBytes, undo.priorLayer, undo.priorSize)
    add(plan.layerCount, undo.priorLayer, 1)
    if (undo.priorDeletable) add(plan.layerDeletable, undo.priorLayer, 1)
  }
  add(plan.layerBytes, item.layer, -record.sizeBytes)
  add(plan.layerCount, item.layer, -1)
  if (deletable(record)) add(plan.layerDeletable, item.layer, -1)
  if (undo.addedReplaced >= 0) plan.replaced.delete(undo.addedReplaced)
}

/**
 * Seed 001's short-term layer deletes the lowest entries once it reaches capacity. A put that
 * cleanup could only make room for by deleting the put itself (everything else is held or not
 * evictable) is refused with LAYER_FULL instead of resolving and vanishing.
 */
function layerFull(ctx: EngineContext, plan: GroupPlan, item: PreparedPut, record: EntryRecord, prior: EntryRecord | undefined): TiermemError | undefined {
  const layer = ctx.policy.layers[item.layer]!
  const capacity = layer.maxEntries
  if (capacity === undefined || !layer.forceCleanup?.enabled || (prior && prior.layer === item.layer)) return undefined
  const { reg } = ctx
  const layerId = reg.layerNames.lookup(item.layer)
  const count = (layerId === undefined ? 0 : (reg.layerCount[layerId] ?? 0)) + (plan.layerCount.get(item.layer) ?? 0)
  if (count + 1 < capacity) return undefined
  const needed = count + 1 - Math.floor(layer.forceCleanup.keepRatio * capacity)
  let others = plan.layerDeletable.get(item.layer) ?? 0
  const members = layerId === undefined ? undefined : reg.layerMembers[layerId]
  for (const slot of members ?? []) {
    if (others >= needed) break
    if (reg.refCount[slot] !== 0 || !(reg.flags[slot]! & EVICTABLE)) continue
    if (!plan.latest.has(storeKeyOf(reg.namespaces[slot]!, reg.keys[slot]!))) others++
  }
  if (others >= needed) return undefined
  const held = deletable(record) ? 'only by deleting this put' : 'at all'
  return new TiermemError(
    'LAYER_FULL',
    `layer '${item.layer}' is at its capacity of ${capacity} entries and cleanup could make room ${held}: its other entries are held or not evictable; ` +
      'release some, put into a layer without a capacity (e.g. insights or assets), or raise its maxEntries',
  )
}

function initialTier(ctx: EngineContext, item: PreparedPut, type: string, durable: boolean): number {
  if (item.options.tier) return TIER_CODES[item.options.tier]
  if (!durable) return HOT
  const byType = ctx.policy.typeTiers[type]
  if (byType) return TIER_CODES[byType]
  return item.bytes.byteLength > ctx.policy.maxHotEntryBytes ? WARM : HOT
}

/** A scope's quota, shrunk by 0.8 while pressure scopes can ease is at warning or above (seed 000). */
export function effectiveQuota(ctx: EngineContext, scope: ScopeState): number {
  return scopesPressed(ctx, 'warning') ? scope.quotaBytes * 0.8 : scope.quotaBytes
}

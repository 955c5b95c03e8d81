import { copyBytes, encodeValue } from './codec.ts'
import { hashBytes } from './content-hash.ts'
import { reportBackgroundError, trackWrites, type EngineContext } from './engine-context.ts'
import { readRecord, storeKeyOf, toEntryInfo, writeRecord, type EntryRecord } from './entry-record.ts'
import { CHUNK_ENTRIES, commitChanges, maybeCheckpoint, type Change } from './journal.ts'
import { TiermemError } from './errors.ts'
import { applyLayerRules } from './layer-rules.ts'
import { evaluatePressure } from './pressure-controller.ts'
import { dropColdRecords } from './removal.ts'
import { COLD, DURABLE, EVICTABLE, HOT, REFERENCED, WARM } from './registry.ts'
import type { ScopeState } from './scope-state.ts'
import { enforceHotBudget, moveToCold, setHotValue } from './tier-moves.ts'
import type { EntryInfo, PutOptions } from './types.ts'
import { packIntoPages, reclaimPages, withEmptiedPages } from './warm-values.ts'
import { checkKey, checkNamespace, checkPutOptions } from './validate.ts'

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
  resolve(info: EntryInfo): void
  reject(error: unknown): void
}

/** Puts that arrive while the lane is busy share one store batch (group commit). */
export interface PutGroup {
  items: PreparedPut[]
  /** Settles when the group's lane task has finished. */
  done: Promise<void>
}

/**
 * Validates and encodes a put without touching any state: everything that can be wrong with the
 * caller's input fails here, before anything is queued.
 */
export function preparePut(
  ctx: EngineContext,
  key: unknown,
  value: unknown,
  options: PutOptions | undefined,
  scope?: ScopeState,
  /** The value already encoded by our codec (the worker client encodes on the page and transfers the bytes). */
  encoded?: Uint8Array,
): PreparedPut {
  checkKey(key)
  checkPutOptions(options)
  const opts = options ?? {}
  const namespace = checkNamespace(opts.namespace)
  const layer = opts.layer ?? ctx.policy.defaultLayer
  if (!ctx.policy.layers[layer]) {
    throw new TiermemError('INVALID_OPTION', `unknown layer '${layer}'; configured layers: ${Object.keys(ctx.policy.layers).join(', ')}`)
  }
  if (encoded !== undefined && !(encoded instanceof Uint8Array)) throw new TiermemError('INVALID_VALUE', 'encoded values are Uint8Array')
  // One copy, owned from here on: the hot copy and the warm store's put share it (IndexedDB
  // clones at put() time). Encoder output is a view into msgpackr's pool; a worker's encoded
  // values are views into one transferred buffer.
  const bytes = copyBytes(encoded ?? encodeValue(value))
  return {
    namespace, key, storeKey: storeKeyOf(namespace, key), value, bytes, options: opts, layer, scope,
    at: ctx.clock.now(), resolve: noop, reject: noop,
  }
}

function noop(): void {}

const openGroup = new WeakMap<EngineContext, PutGroup>()

/** The most puts one atomic warm batch holds: one value op each, plus their journal records. */
export function putsPerBatch(ctx: EngineContext): number {
  const limit = ctx.warm.capabilities.maxBatchSize
  return Math.max(1, limit - Math.ceil(limit / (CHUNK_ENTRIES + 1)))
}

function openGroupFor(ctx: EngineContext, room: number): PutGroup {
  const open = openGroup.get(ctx)
  if (open && open.items.length + room <= putsPerBatch(ctx)) return open
  const created = { items: [] } as unknown as PutGroup
  created.done = ctx.lane.run(() => commitGroup(ctx, created))
  openGroup.set(ctx, created)
  return created
}

/**
 * Queues prepared puts; they commit with whatever else arrives before the lane gets to them
 * (group commit). Each put settles on its own (a put refused by a layer or task quota fails
 * alone). A group larger than one atomic batch commits in slices (see commitChanges).
 */
export function enqueuePutItems(ctx: EngineContext, items: PreparedPut[]): Array<Promise<EntryInfo>> {
  const target = openGroupFor(ctx, 0)
  return addToGroup(ctx, target, items)
}

/**
 * Queues puts that succeed or fail together (putMany): they always share one atomic batch, so
 * a putMany larger than the warm store's batch is refused before anything is written.
 */
export function enqueuePuts(ctx: EngineContext, items: PreparedPut[]): Promise<EntryInfo[]> {
  const most = putsPerBatch(ctx)
  if (items.length > most) {
    throw new TiermemError('INVALID_OPTION', `putMany of ${items.length} items exceeds what the ${ctx.warm.backend} store commits atomically (${most}); split it into smaller putMany calls`)
  }
  return Promise.all(addToGroup(ctx, openGroupFor(ctx, items.length), items))
}

function addToGroup(ctx: EngineContext, target: PutGroup, items: PreparedPut[]): Array<Promise<EntryInfo>> {
  trackWrites(ctx, items.map((item) => item.storeKey), target.done)
  return items.map(
    (item) =>
      new Promise<EntryInfo>((resolve, reject) => {
        item.resolve = resolve
        item.reject = reject
        target.items.push(item)
      }),
  )
}

function initialTier(ctx: EngineContext, item: PreparedPut, type: string, durable: boolean): number {
  if (item.options.tier) return TIER_CODES[item.options.tier]
  if (!durable) return HOT
  const byType = ctx.policy.typeTiers[type]
  if (byType) return TIER_CODES[byType]
  return item.bytes.byteLength > ctx.policy.maxHotEntryBytes ? WARM : HOT
}

interface Planned {
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
}

async function commitGroup(ctx: EngineContext, group: PutGroup): Promise<void> {
  if (openGroup.get(ctx) === group) openGroup.delete(ctx)
  const { reg } = ctx
  if (ctx.closed) {
    for (const item of group.items) item.reject(new TiermemError('CLOSED', 'the memory was closed before this put committed; nothing was written'))
    return
  }
  const planned: Planned[] = []
  const latest = new Map<string, EntryRecord>()
  const layerDelta = new Map<string, number>()
  const scopeDelta = new Map<ScopeState, number>()
  /** Scope references planned in this group: a second put of a key through its scope adds none. */
  const scopeHeld = new Set<string>()
  /** Entries the group replaces: the pages it leaves empty go with its last batch. */
  const replaced = new Set<number>()

  for (const item of group.items) {
    const slot = reg.find(item.namespace, item.key)
    const prior = latest.get(item.storeKey) ?? (slot >= 0 ? readRecord(reg, slot) : undefined)
    const size = item.bytes.byteLength
    const layerPolicy = ctx.policy.layers[item.layer]!

    // A manual layer is never evicted from: a put that would overflow its budget fails instead.
    if (layerPolicy.eviction === 'manual' && layerPolicy.maxBytes !== undefined) {
      const layerId = reg.layerNames.lookup(item.layer)
      const current = (layerId === undefined ? 0 : reg.layerBytes[layerId] ?? 0) + (layerDelta.get(item.layer) ?? 0)
      const replaced = prior && prior.layer === item.layer ? prior.sizeBytes : 0
      if (current - replaced + size > layerPolicy.maxBytes) {
        item.reject(new TiermemError('QUOTA_EXCEEDED', `layer '${item.layer}' is full (${layerPolicy.maxBytes} bytes, eviction 'manual'); delete entries from it or raise its maxBytes`))
        continue
      }
    }
    if (item.scope) {
      const scope = item.scope
      const owned = scope.owned.get(item.storeKey) ?? 0
      const used = scope.usedBytes + (scopeDelta.get(scope) ?? 0) - owned
      const quota = effectiveQuota(ctx, scope)
      if (used + size > quota) {
        item.reject(new TiermemError('QUOTA_EXCEEDED', `task '${scope.taskId}' would use ${used + size} bytes, over its quota of ${Math.floor(quota)}; close finished scopes or raise quotaBytes`))
        continue
      }
      scopeDelta.set(scope, (scopeDelta.get(scope) ?? 0) + size - owned)
    }

    const o = item.options
    const type = o.type ?? 'context'
    const durable = o.durable ?? true
    const tier = initialTier(ctx, item, type, durable)
    const ttlMs = o.ttlMs ?? Number.NaN
    const lifetime = Number.isNaN(ttlMs) ? layerPolicy.ttlMs : ttlMs
    const importance = o.importance ?? 0.5
    const heldKey = item.scope ? `${item.scope.taskId}\u0000${item.storeKey}` : ''
    const scopeRef = item.scope !== undefined && !item.scope.owned.has(item.storeKey) && !scopeHeld.has(heldKey) ? 1 : 0
    if (item.scope) scopeHeld.add(heldKey)
    const refCount = (prior?.refCount ?? 0) + scopeRef
    const referenced = refCount > 0 || (prior !== undefined && (prior.flags & REFERENCED) !== 0)
    const hash = hashBytes(item.bytes)
    const now = item.at
    const record: EntryRecord = {
      key: item.key, namespace: item.namespace, type, layer: item.layer,
      tier: tier === COLD ? WARM : tier,
      importance, relevance: o.relevance ?? importance,
      createdAt: now, lastAccessedAt: now, accessCount: 0, sizeBytes: size,
      ttlMs, expiresAt: lifetime === undefined ? Number.POSITIVE_INFINITY : now + lifetime,
      taskId: o.taskId ?? item.scope?.taskId, tags: o.tags ? [...o.tags] : undefined,
      flags: ((o.evictable ?? true) ? EVICTABLE : 0) | (durable ? DURABLE : 0) | (referenced ? REFERENCED : 0),
      refCount, hashHi: hash.hi, hashLo: hash.lo, page: 0, pageOffset: 0,
    }
    // The prior value is stored alone in warm, under this key (a prior put of this group counts:
    // its page is not known yet, and deleting a key nothing holds is harmless).
    const priorAlone = prior !== undefined && (prior.flags & DURABLE) !== 0 && prior.tier !== COLD && prior.page === 0
    const change: Change = {}
    if (durable) {
      change.ops = [{ type: 'put', space: 'values', key: item.storeKey, value: item.bytes }]
      change.entry = record
    } else if (prior && prior.flags & DURABLE) {
      change.entry = item.storeKey
      if (priorAlone) change.ops = [{ type: 'delete', space: 'values', key: item.storeKey }]
    }
    if (prior) layerDelta.set(prior.layer, (layerDelta.get(prior.layer) ?? 0) - prior.sizeBytes)
    layerDelta.set(item.layer, (layerDelta.get(item.layer) ?? 0) + size)
    latest.set(item.storeKey, record)
    const replacesCold = prior !== undefined && (prior.flags & DURABLE) !== 0 && prior.tier === COLD
    planned.push({ item, record, change, wantCold: tier === COLD, replacesCold, replacesAlone: priorAlone ? item.storeKey : undefined, slot: -1 })
    if (slot >= 0) replaced.add(slot)
  }

  // Commit, and apply each put to the registry as soon as the batch holding it has landed. A
  // store failure part-way leaves the earlier batches committed and applied: those puts
  // succeed, the rest fail, and the registry always matches the store.
  const touchedLayers = new Set<number>()
  const protect = new Set<number>()
  const applyPut = (p: Planned) => {
    const { item, record } = p
    let slot = reg.find(item.namespace, item.key)
    if (slot >= 0) {
      touchedLayers.add(reg.layer[slot]!)
      reg.detach(slot)
      reg.hotValues[slot] = undefined
    } else {
      slot = reg.allocate(item.namespace, item.key)
    }
    writeRecord(reg, slot, record)
    if (record.tier === HOT) setHotValue(reg, slot, item.bytes, item.value)
    reg.attach(slot)
    touchedLayers.add(reg.layer[slot]!)
    protect.add(slot)
    if (record.refCount === 0 && record.flags & REFERENCED) ctx.orphans.add(slot)
    else ctx.orphans.delete(slot)
    ctx.promotionCandidates.delete(slot)
    if (item.scope) {
      const scope = item.scope
      scope.usedBytes += record.sizeBytes - (scope.owned.get(item.storeKey) ?? 0)
      scope.owned.set(item.storeKey, record.sizeBytes)
    }
    p.slot = slot
    p.info = toEntryInfo(reg, slot)
    ctx.metrics.puts++
  }
  let failure: { error: unknown } | undefined
  const changes = planned.map((p): Change => ({ ...p.change, apply: () => applyPut(p) }))
  packIntoPages(ctx, planned.flatMap((p, i) => (p.record.flags & DURABLE ? [{ change: changes[i]!, record: p.record, bytes: p.item.bytes, replacesAlone: p.replacesAlone }] : [])))
  try {
    // New values never go to an existing page, so a page all of whose entries the group replaces is empty after it.
    await commitChanges(ctx, withEmptiedPages(ctx, changes, replaced))
  } catch (error) {
    failure = { error }
  }
  // What the last batch could not know: pages of this group whose entries a later put of the
  // same group replaced, and pages emptied by batches before a failure. Usually none.
  await reclaimPages(ctx)
  const landed = planned.filter((p) => p.info !== undefined)
  if (failure) for (const p of planned) if (p.info === undefined) p.item.reject(failure.error)

  // Only puts that landed may drop the cold copy they replace: a failed put's old value stays.
  await dropColdRecords(ctx, [...new Set(landed.filter((p) => p.replacesCold).map((p) => p.item.storeKey))])
  const toCold = landed.filter((p) => p.wantCold && reg.tier[p.slot] !== COLD && latest.get(p.item.storeKey) === p.record)
  if (toCold.length > 0) {
    try {
      await moveToCold(ctx, toCold.map((p) => p.slot))
      for (const p of toCold) if (reg.tier[p.slot] === COLD) p.info!.tier = 'cold'
    } catch (error) {
      // The entries are committed in warm; only their placement differs from what was asked.
      reportBackgroundError(ctx, 'cold-placement-failed', error)
    }
  }
  enforceHotBudget(ctx)
  for (const p of landed) {
    if (p.info!.tier === 'hot' && ctx.reg.tier[p.slot] !== HOT) p.info!.tier = 'warm'
    p.item.resolve(p.info!)
  }
  if (landed.length === 0) return

  // The callers have their answers; the layer rules (transfer, cleanup, layer budgets) run after.
  try {
    await applyLayerRules(ctx, touchedLayers, protect)
    await maybeCheckpoint(ctx)
  } catch (error) {
    reportBackgroundError(ctx, 'layer-rules-failed', error)
  }
  evaluatePressure(ctx)
}

/** A scope's quota, shrunk by 0.8 while pressure is at warning or above (seed 000). */
export function effectiveQuota(ctx: EngineContext, scope: ScopeState): number {
  return ctx.level === 'normal' ? scope.quotaBytes : scope.quotaBytes * 0.8
}

import { copyBytes, encodeValue } from '../persistence/codec.ts'
import { reportBackgroundError, type EngineContext } from './engine-context.ts'
import { storeKeyOf, toEntryInfo, writeRecord } from '../registry/entry-record.ts'
import { CHUNK_ENTRIES, commitChanges, maybeCheckpoint, type Change } from '../persistence/journal.ts'
import { TiermemError } from '../api/errors.ts'
import { applyLayerRules } from '../lifecycle/layer-rules.ts'
import { evaluatePressure, keepWarmWithinWorkingSize } from '../pressure/pressure-controller.ts'
import { dropColdRecords } from './removal.ts'
import { COLD, DURABLE, HOT, REFERENCED } from '../registry/registry.ts'
import type { ScopeState } from '../lifecycle/scope-state.ts'
import { planGroup, type Planned, type PreparedPut } from './put-plan.ts'
export type { PreparedPut } from './put-plan.ts'
import { enforceHotBudget, moveToCold, setHotValue } from '../lifecycle/tier-moves.ts'
import type { EntryInfo, PutOptions } from '../api/types.ts'
import { packIntoPages, reclaimPages, withEmptiedPages } from '../persistence/warm-values.ts'
import { checkKey, checkNamespace, checkPutOptions } from '../api/validate.ts'
import { noteKeyWrites } from './read-order.ts'
import { clearDamage } from '../persistence/integrity.ts'
import { settleDedupes, type Superseded } from './put-dedupe.ts'
import { removeEntries } from './removal.ts'

/** Puts that arrive while the lane is busy share one store batch (group commit). */
export interface PutGroup {
  items: PreparedPut[]
  /** Settles when the group's lane task has finished. */
  done: Promise<void>
  /** The group's lane ticket: it takes more puts only while it is the lane's last task. */
  ticket: number
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
  /** tiermem's own puts (the embedding cache), which may write its reserved namespaces. */
  internal = false,
): PreparedPut {
  checkKey(key)
  checkPutOptions(internal ? { ...options, namespace: undefined } : options)
  const opts = options ?? {}
  const namespace = internal && opts.namespace !== undefined ? opts.namespace : checkNamespace(opts.namespace)
  const layer = opts.layer ?? ctx.policy.defaultLayer
  if (!ctx.policy.layers[layer]) {
    throw new TiermemError('INVALID_OPTION', `unknown layer '${layer}'; configured layers: ${Object.keys(ctx.policy.layers).join(', ')}`)
  }
  if (encoded !== undefined && !(encoded instanceof Uint8Array)) throw new TiermemError('INVALID_VALUE', 'encoded values are Uint8Array')
  // One copy, owned from here on: the hot copy and the warm store's put share it (IndexedDB
  // clones at put() time). Encoder output is a view into msgpackr's pool; a worker's encoded
  // values are views into one transferred buffer.
  const bytes = copyBytes(encoded ?? encodeValue(value))
  // The vector options make a companion put (the entry's vector); they are not the entry's
  // metadata. The rest is copied, tags too: the caller may change its options object once put()
  // returns, before the put commits, and what was checked above is what is stored.
  const { embed, vector, dedupe, ...rest } = opts
  if (rest.tags !== undefined) rest.tags = [...rest.tags]
  const prepared: PreparedPut = {
    namespace,
    key,
    storeKey: storeKeyOf(namespace, key),
    value,
    bytes,
    options: rest,
    layer,
    scope,
    at: ctx.clock.now(),
    resolve: noop,
    reject: noop,
  }
  if (dedupe) prepared.dedupe = true
  if (embed !== undefined || vector !== undefined) {
    const make = companionMakers.get(ctx)
    if (!make) throw new TiermemError('EMBEDDER_MISSING', 'this memory cannot store vectors')
    prepared.companion = make(prepared, { embed, vector })
  }
  return prepared
}

function noop(): void {}

/** What makes an entry's vector put from `embed` / `vector` (embeddings/entry-vectors.ts installs it). */
export type CompanionMaker = (entry: PreparedPut, source: { embed: PutOptions['embed']; vector: PutOptions['vector'] }) => PreparedPut
const companionMakers = new WeakMap<EngineContext, CompanionMaker>()

export function setCompanionMaker(ctx: EngineContext, make: CompanionMaker): void {
  companionMakers.set(ctx, make)
}

/** The items with each one's companion right after it, the two bound into one unit (they land together or not at all). */
function withCompanions(items: PreparedPut[]): PreparedPut[] {
  if (!items.some((item) => item.companion)) return items
  const out: PreparedPut[] = []
  for (const item of items) {
    out.push(item)
    if (!item.companion) continue
    item.unit ??= {}
    item.companion.unit = item.unit
    out.push(item.companion)
  }
  return out
}

const openGroup = new WeakMap<EngineContext, PutGroup>()

/** The most puts one atomic warm batch holds: one value op each, plus their journal records. */
export function putsPerBatch(ctx: EngineContext): number {
  const limit = ctx.warm.capabilities.maxBatchSize
  return Math.max(1, limit - Math.ceil(limit / (CHUNK_ENTRIES + 1)))
}

/**
 * The group a put joins: the open one while it is still the lane's last task (so a put never
 * commits before a delete, a scope close or a waiting read issued ahead of it), else a new one.
 */
function openGroupFor(ctx: EngineContext, room: number): PutGroup {
  const open = openGroup.get(ctx)
  if (open && open.ticket === ctx.lane.issued && open.items.length + room <= putsPerBatch(ctx)) return open
  const created = { items: [] } as unknown as PutGroup
  created.done = ctx.lane.run(() => commitGroup(ctx, created))
  created.ticket = ctx.lane.issued
  openGroup.set(ctx, created)
  return created
}

/**
 * Queues prepared puts; they commit with whatever else arrives before the lane gets to them
 * (group commit). Each put settles on its own (a put refused by a layer or task quota fails
 * alone). A group larger than one atomic batch commits in slices (see commitChanges).
 */
export function enqueuePutItems(ctx: EngineContext, items: PreparedPut[]): Array<Promise<EntryInfo>> {
  const all = withCompanions(items)
  const target = openGroupFor(ctx, all.length - items.length)
  if (all === items) return addToGroup(ctx, target, items)
  const own = new Set(items)
  const settled = addToGroup(ctx, target, all)
  return all.flatMap((item, i) => (own.has(item) ? [settled[i]!] : []))
}

/**
 * Queues puts that succeed or fail together (putMany): they share one atomic batch, and a
 * refusal of any of them (a budget, a scope, a full layer) refuses all of them, so a putMany
 * larger than the warm store's batch is refused before anything is written.
 */
export function enqueuePuts(ctx: EngineContext, items: PreparedPut[]): Promise<EntryInfo[]> {
  const most = putsPerBatch(ctx)
  if (items.length > most) {
    throw new TiermemError(
      'INVALID_OPTION',
      `putMany of ${items.length} items exceeds what the ${ctx.warm.backend} store commits atomically (${most}); split it into smaller putMany calls`,
    )
  }
  const all = withCompanions(items)
  if (all.length > 1) {
    const unit = {}
    for (const item of all) item.unit = unit
  }
  // The callers' answers: their own puts' infos, not their companions'.
  const settled = Promise.all(addToGroup(ctx, openGroupFor(ctx, all.length), all))
  if (all === items) return settled
  const own = new Set(items)
  return settled.then((infos) => infos.filter((_, i) => own.has(all[i]!)))
}

/**
 * Commits prepared puts now, as one group that succeeds or fails whole (lane only: the caller is
 * a lane task that must not let other writes in between, a restore). Resolves once they landed.
 */
export async function commitNow(ctx: EngineContext, items: PreparedPut[]): Promise<EntryInfo[]> {
  if (items.length === 0) return []
  const unit = {}
  const settled = items.map(
    (item) =>
      new Promise<EntryInfo>((resolve, reject) => {
        item.unit = unit
        item.resolve = resolve
        item.reject = reject
      }),
  )
  await commitGroup(ctx, { items, done: Promise.resolve(), ticket: -1 })
  return Promise.all(settled)
}

function addToGroup(ctx: EngineContext, target: PutGroup, items: PreparedPut[]): Array<Promise<EntryInfo>> {
  noteKeyWrites(
    ctx,
    items.map((item) => item.storeKey),
    target.ticket,
    target.done,
  )
  return items.map(
    (item) =>
      new Promise<EntryInfo>((resolve, reject) => {
        item.resolve = resolve
        item.reject = reject
        target.items.push(item)
      }),
  )
}

/**
 * Waits for the group's puts whose bytes are still being made (vectors being embedded): the
 * group holds its place in the lane, so puts issued after it still land after it. A put whose
 * making failed fails with its unit (an entry and its vector: neither is stored).
 */
async function settleMaking(group: PutGroup): Promise<void> {
  const making = group.items.filter((item) => item.ready !== undefined)
  if (making.length === 0) return
  const outcomes = await Promise.allSettled(making.map((item) => item.ready))
  const failed = new Map<object, unknown>()
  outcomes.forEach((outcome, i) => {
    if (outcome.status === 'rejected') failed.set(making[i]!.unit ?? making[i]!, outcome.reason)
  })
  if (failed.size === 0) return
  group.items = group.items.filter((item) => {
    const unit = item.unit ?? item
    if (!failed.has(unit)) return true
    item.reject(failed.get(unit))
    return false
  })
}

async function commitGroup(ctx: EngineContext, group: PutGroup): Promise<void> {
  if (openGroup.get(ctx) === group) openGroup.delete(ctx)
  const { reg } = ctx
  if (ctx.closed) {
    for (const item of group.items) item.reject(new TiermemError('CLOSED', 'the memory was closed before this put committed; nothing was written'))
    return
  }
  await settleMaking(group)
  // put(..., { dedupe }) that a stored entry already holds: merged into it, or it into the put.
  let replacedDuplicates: Superseded[] = []
  if (group.items.some((item) => item.dedupe)) {
    const settled = await settleDedupes(ctx, group.items)
    group.items = settled.kept
    replacedDuplicates = settled.superseded
  }
  const { planned, latest, replaced } = planGroup(ctx, group.items)

  // Commit, and apply each put to the registry as soon as the batch holding it has landed. A
  // store failure part-way leaves the earlier batches committed and applied: those puts
  // succeed, the rest fail, and the registry always matches the store.
  const touchedLayers = new Set<number>()
  const protect = new Set<number>()
  let failure: { error: unknown } | undefined
  const changes = planned.map((p): Change => ({ ...p.change, apply: () => applyPut(ctx, p, touchedLayers, protect) }))
  packIntoPages(
    ctx,
    planned.flatMap((p, i) =>
      p.record.flags & DURABLE && !p.item.alone ? [{ change: changes[i]!, record: p.record, bytes: p.item.bytes, replacesAlone: p.replacesAlone }] : [],
    ),
  )
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
      await moveToCold(
        ctx,
        toCold.map((p) => p.slot),
      )
      for (const p of toCold) if (reg.tier[p.slot] === COLD) p.info!.tier = 'cold'
    } catch (error) {
      // The entries are committed in warm; only their placement differs from what was asked.
      reportBackgroundError(ctx, 'cold-placement-failed', error)
    }
  }
  enforceHotBudget(ctx)
  // Stored duplicates a more important deduplicating put took the place of (their reads and tags are in it).
  const landedItems = new Set(landed.map((p) => p.item))
  const superseded = replacedDuplicates.filter((d) => landedItems.has(d.item) && reg.isLive(d.slot, d.gen)).map((d) => d.slot)
  if (superseded.length > 0) await removeEntries(ctx, superseded, 'dedupe').catch((error: unknown) => reportBackgroundError(ctx, 'dedupe-failed', error))
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
  try {
    await keepWarmWithinWorkingSize(ctx)
  } catch (error) {
    reportBackgroundError(ctx, 'warm-upkeep-failed', error)
  }
  evaluatePressure(ctx)
}

/**
 * A planned put whose batch has landed, into the registry: the slot is filled (or replaced),
 * the scope that wrote it charged, any damage report for its key cleared, the change published.
 */
function applyPut(ctx: EngineContext, p: Planned, touchedLayers: Set<number>, protect: Set<number>): void {
  const { reg } = ctx
  const { item, record } = p
  let slot = reg.find(item.namespace, item.key)
  const replaced = slot >= 0
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
  clearDamage(ctx, item.storeKey)
  p.slot = slot
  p.info = toEntryInfo(reg, slot)
  ctx.metrics.puts++
  const durable = (record.flags & DURABLE) !== 0
  // Nothing watches puts yet (recall, backups, tabs will): then the put takes its number and no object.
  if (!ctx.feed.watched('put')) ctx.feed.skip(durable)
  else
    ctx.feed.publish(
      { kind: 'put', namespace: item.namespace, key: item.key, tier: p.info.tier, layer: item.layer, sizeBytes: record.sizeBytes, replaced, durable },
      durable,
    )
}

import type { EngineContext } from '../engine/engine-context.ts'
import { readRecord, writeRecord } from '../registry/entry-record.ts'
import { commitChanges } from '../persistence/journal.ts'
import { DURABLE, EVICTABLE, FREE } from '../registry/registry.ts'
import { removeEntries } from '../engine/removal.ts'
import { evictionRank, promotionScore } from './scoring.ts'

/**
 * Retention-layer rules (the second axis, beside tiers):
 * - seed 001 transfer: at ≥ occupancy × maxEntries, entries with importance ≥ minImportance
 *   move to the layer above;
 * - seed 001 force cleanup: at ≥ 100 % occupancy with no transfer left to do, delete the lowest
 *   (importance, then oldest createdAt) down to keepRatio × maxEntries;
 * - layer byte budgets: evict by the layer's eviction policy (never from 'manual' layers);
 * - seed 004 promotion: score, accesses and age over the layer's minimums move an entry up.
 * None of them ever deletes an entry with refCount > 0 or evictable: false.
 */

/** Makes the registry keep member sets for layers with a capacity, and promotion thresholds per layer. */
export function syncLayerIndexes(ctx: EngineContext): void {
  const { reg } = ctx
  const trigger: number[] = []
  for (const [name, layer] of Object.entries(ctx.policy.layers)) {
    const id = reg.layerId(name)
    reg.trackLayer(id, layer.maxEntries !== undefined && Number.isFinite(layer.maxEntries))
    trigger[id] = layer.promotion && layer.promoteTo ? Math.floor(layer.promotion.minAccesses) + 1 : Number.POSITIVE_INFINITY
  }
  for (let id = 0; id < reg.layerNames.names.length; id++) trigger[id] ??= Number.POSITIVE_INFINITY
  ctx.promotionTrigger = trigger
  ctx.promotionCandidates.clear()
  for (const slot of reg.slots()) noteAccess(ctx, slot)
}

/**
 * Makes an entry past its layer's promotion minimum a candidate for gc to score. Called when the
 * candidates are rebuilt and when an entry changes layer; reads call it only at the crossing
 * (see recordAccess), as the count grows one at a time.
 */
export function noteAccess(ctx: EngineContext, slot: number): void {
  if (ctx.reg.accessCount[slot]! >= (ctx.promotionTrigger[ctx.reg.layer[slot]!] ?? Number.POSITIVE_INFINITY)) {
    ctx.promotionCandidates.add(slot)
  }
}

function deletable(ctx: EngineContext, slot: number): boolean {
  return (ctx.reg.flags[slot]! & EVICTABLE) !== 0 && ctx.reg.refCount[slot] === 0
}

/**
 * Before a capacity deletes a live entry of the layer, its expired members nobody holds go
 * (reason 'expired'): they are gone for every reader already, yet they count and take room.
 */
async function dropExpired(ctx: EngineContext, id: number, slots: Iterable<number>, protect: ReadonlySet<number>): Promise<void> {
  const { reg } = ctx
  const now = ctx.clock.now()
  const expired = [...slots].filter((slot) => reg.layer[slot] === id && reg.expiresAt[slot]! <= now && reg.refCount[slot] === 0 && !protect.has(slot))
  if (expired.length > 0) await removeEntries(ctx, expired, 'expired')
}

export async function applyLayerRules(ctx: EngineContext, layers: Iterable<number>, protect: ReadonlySet<number>): Promise<void> {
  const { reg } = ctx
  for (const id of layers) {
    const name = reg.layerNames.name(id)
    const layer = ctx.policy.layers[name]
    if (!layer) continue
    const members = reg.layerMembers[id]
    if (members && layer.maxEntries !== undefined) {
      if (layer.transfer && layer.promoteTo && members.size >= layer.transfer.occupancy * layer.maxEntries) {
        const minImportance = layer.transfer.minImportance
        const movers = [...members].filter((slot) => reg.importance[slot]! >= minImportance)
        if (movers.length > 0) await changeLayer(ctx, movers, layer.promoteTo, 'transfer')
      }
      // Full: the expired go first; if it is still full, the lowest live entries.
      if (layer.forceCleanup?.enabled && members.size >= layer.maxEntries) await dropExpired(ctx, id, members, protect)
      if (layer.forceCleanup?.enabled && members.size >= layer.maxEntries) {
        const keep = Math.floor(layer.forceCleanup.keepRatio * layer.maxEntries)
        const victims = [...members]
          .filter((slot) => deletable(ctx, slot))
          .sort((a, b) => reg.importance[a]! - reg.importance[b]! || reg.createdAt[a]! - reg.createdAt[b]!)
          .slice(0, Math.max(0, members.size - keep))
        if (victims.length > 0) {
          await removeEntries(ctx, victims, 'cleanup')
          const cleanup = { layer: name, removed: victims.length, remaining: members.size, capacity: layer.maxEntries }
          ctx.events.emit('cleanup', cleanup)
          // Deleting what the user put is the seed's design, but never quietly: the first time, an alert says so.
          if (!ctx.cleanupAlerted) {
            ctx.cleanupAlerted = true
            ctx.events.emit('alert', {
              name: 'layer-cleanup',
              severity: 'warning',
              detail: {
                ...cleanup,
                message: `layer '${name}' holds at most ${layer.maxEntries} entries: ${victims.length} of the least important were deleted; put what must last into a layer without a capacity (insights, assets) or raise maxEntries`,
              },
            })
          }
        }
      }
    }
    // Over budget: the same order.
    if (layer.maxBytes !== undefined && layer.eviction !== 'manual' && (reg.layerBytes[id] ?? 0) > layer.maxBytes)
      await dropExpired(ctx, id, members ?? reg.slots(), protect)
    if (layer.maxBytes !== undefined && layer.eviction !== 'manual' && (reg.layerBytes[id] ?? 0) > layer.maxBytes) {
      const now = ctx.clock.now()
      const half = ctx.policy.recencyHalfLifeMs
      const ranked = [...(members ?? reg.slots())]
        .filter((slot) => reg.layer[slot] === id && !protect.has(slot) && deletable(ctx, slot))
        .map((slot) => ({
          slot,
          rank: evictionRank(
            layer.eviction,
            { importance: reg.importance[slot]!, sizeBytes: reg.sizeBytes[slot]!, idleMs: now - reg.lastAccessedAt[slot]! },
            half,
          ),
        }))
        .sort((a, b) => a.rank - b.rank)
      let excess = (reg.layerBytes[id] ?? 0) - layer.maxBytes
      const victims: number[] = []
      for (const { slot } of ranked) {
        if (excess <= 0) break
        victims.push(slot)
        excess -= reg.sizeBytes[slot]!
      }
      if (victims.length > 0) await removeEntries(ctx, victims, 'pressure')
    }
  }
}

/** Moves entries to another layer: their TTL follows the new layer unless it was set per entry. */
export async function changeLayer(
  ctx: EngineContext,
  slots: readonly number[],
  to: string,
  reason: 'transfer' | 'promotion',
  scores?: readonly number[],
): Promise<void> {
  const { reg } = ctx
  const target = ctx.policy.layers[to]!
  await commitChanges(
    ctx,
    slots.map((slot, i) => {
      const record = readRecord(reg, slot)
      const from = record.layer
      record.layer = to
      if (Number.isNaN(record.ttlMs)) {
        record.expiresAt = target.ttlMs === undefined ? Number.POSITIVE_INFINITY : record.createdAt + target.ttlMs
      }
      const apply = () => {
        reg.detach(slot)
        writeRecord(reg, slot, record)
        reg.attach(slot)
        ctx.promotionCandidates.delete(slot)
        noteAccess(ctx, slot)
        ctx.feed.publish(
          {
            kind: 'layer',
            key: reg.keys[slot]!,
            namespace: reg.namespaces[slot]!,
            from,
            to,
            reason,
            ...(scores ? { score: scores[i]! } : {}),
          },
          (reg.flags[slot]! & DURABLE) !== 0,
        )
      }
      return reg.flags[slot]! & DURABLE ? { entry: record, apply } : { apply }
    }),
  )
}

/** Seed 004 promotion over the candidates gathered by `noteAccess`. Returns how many moved. */
export async function promoteLayers(ctx: EngineContext): Promise<number> {
  const { reg } = ctx
  const now = ctx.clock.now()
  const byTarget = new Map<string, { slots: number[]; scores: number[] }>()
  for (const slot of ctx.promotionCandidates) {
    const layer = reg.tier[slot] === FREE ? undefined : ctx.policy.layers[reg.layerNames.name(reg.layer[slot]!)]
    if (!layer?.promotion || !layer.promoteTo) {
      ctx.promotionCandidates.delete(slot)
      continue
    }
    const { minScore, minAccesses, minAgeMs } = layer.promotion
    if (reg.accessCount[slot]! <= minAccesses || now - reg.createdAt[slot]! <= minAgeMs) continue
    const score = promotionScore(
      ctx.policy.scoreWeights,
      { relevance: reg.relevance[slot]!, importance: reg.importance[slot]!, accessCount: reg.accessCount[slot]!, idleMs: now - reg.lastAccessedAt[slot]! },
      ctx.policy.recencyHalfLifeMs,
    )
    if (score <= minScore) continue
    let bucket = byTarget.get(layer.promoteTo)
    if (!bucket) byTarget.set(layer.promoteTo, (bucket = { slots: [], scores: [] }))
    bucket.slots.push(slot)
    bucket.scores.push(score)
  }
  let moved = 0
  for (const [to, { slots, scores }] of byTarget) {
    await changeLayer(ctx, slots, to, 'promotion', scores)
    moved += slots.length
  }
  return moved
}

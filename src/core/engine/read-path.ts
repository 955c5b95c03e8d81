import { decodeValue } from '../persistence/codec.ts'
import { getMany, reportBackgroundError, storeKey, type EngineContext } from './engine-context.ts'
import { storeKeyOf } from '../registry/entry-record.ts'
import { readWarm } from '../persistence/warm-values.ts'
import { TiermemError } from '../api/errors.ts'
import { checkMetadataIntact, verifyContent } from '../persistence/integrity.ts'
import { hashMatches } from '../persistence/content-hash.ts'
import { inIssueOrder, readMustWait } from './read-order.ts'
import { noteRead } from './foreground.ts'
import { elapsedNow, HOT_SAMPLE_MASK } from '../pressure/metrics.ts'
import { COLD, HOT, PENDING, WARM } from '../registry/registry.ts'
import { removeEntries } from './removal.ts'
import { hotValue, moveFromCold, promoteWarmToHot } from '../lifecycle/tier-moves.ts'

const RESOLVED_UNDEFINED: Promise<undefined> = Promise.resolve(undefined)

/**
 * Outcome of looking a key up: a slot to read, or undefined for a miss (absent or expired).
 * Expired entries are queued for eviction here (lazy expiry, seed 000), unless someone holds them.
 */
export function lookup(ctx: EngineContext, namespace: string, key: string, now: number): number {
  const { reg } = ctx
  const slot = reg.find(namespace, key)
  if (slot < 0) return -1
  if (reg.expiresAt[slot]! <= now) {
    scheduleExpiry(ctx, slot)
    return -1
  }
  return slot
}

/** Turns stored bytes into what a reader gets: a decoded value, or (for the worker host) the bytes themselves. */
export type Decode = (bytes: Uint8Array) => unknown

/**
 * get(): hot entries answer synchronously (one resolved promise); others read their store and
 * `decode` the bytes (by default into a fresh value).
 */
export function readOne(ctx: EngineContext, namespace: string, key: string, decode: Decode = decodeValue, access = true): Promise<unknown> {
  noteRead()
  // Issue order (read-order.ts): a read an earlier write has not reached yet runs after it.
  if (readMustWait(ctx, namespace, key)) {
    return ctx.lane.run(() => readNow(ctx, namespace, key, decode, access))
  }
  return readNow(ctx, namespace, key, decode, access)
}

/** get() as of now, with no wait for writes (the caller has ordered it). */
function readNow(ctx: EngineContext, namespace: string, key: string, decode: Decode, access = true): Promise<unknown> {
  const { reg, metrics } = ctx
  const sampled = access && (++metrics.hotReads & HOT_SAMPLE_MASK) === 0 && metrics.enabled
  const started = sampled ? elapsedNow() : 0
  const now = ctx.clock.now()
  const slot = lookup(ctx, namespace, key, now)
  if (slot < 0) {
    if (ctx.integrity.lostMetadata.size !== 0) {
      try {
        checkMetadataIntact(ctx, storeKeyOf(namespace, key), key)
      } catch (error) {
        return Promise.reject(error)
      }
    }
    if (access) metrics.misses++
    return RESOLVED_UNDEFINED
  }
  // peek() reads as get() does, but counts no access: no statistics, recency or promotion.
  if (!access) return reg.tier[slot] === HOT ? Promise.resolve(hotValue(reg, slot)) : readStored(ctx, namespace, key, slot, decode, false)
  recordAccess(ctx, slot, now)
  if (reg.tier[slot] === HOT) {
    metrics.hits[HOT]!++
    const value = hotValue(reg, slot)
    if (sampled) metrics.latency[HOT].record(elapsedNow() - started)
    return Promise.resolve(value)
  }
  return readStored(ctx, namespace, key, slot, decode)
}

/** An access: statistics, recency, and (once, at the crossing) promotion candidacy. */
function recordAccess(ctx: EngineContext, slot: number, now: number): void {
  const { reg } = ctx
  reg.touch(slot, now)
  if (reg.accessCount[slot] === ctx.promotionTrigger[reg.layer[slot]!]) ctx.promotionCandidates.add(slot)
}

/** Bytes read back from warm or cold: verified, counted, decoded, and the entry maybe promoted. */
function acceptStored(ctx: EngineContext, slot: number, tier: number, bytes: Uint8Array, decode: Decode, elapsedMs: number, access = true): unknown {
  const { metrics } = ctx
  verifyContent(ctx, slot, bytes)
  if (!access) return decode(bytes)
  metrics.hits[tier]!++
  if (metrics.enabled) metrics.latency[tier as 1 | 2].record(elapsedMs)
  const value = decode(bytes)
  maybePromote(ctx, slot, bytes)
  return value
}

/** Reads a warm or cold entry; if a tier move raced the read, looks the key up again. */
async function readStored(ctx: EngineContext, namespace: string, key: string, slot: number, decode: Decode, access = true): Promise<unknown> {
  const { reg, metrics } = ctx
  const started = elapsedNow()
  for (let attempt = 0; attempt < 4; attempt++) {
    const tier = reg.tier[slot]!
    if (tier === HOT) {
      if (access) metrics.hits[HOT]!++
      return hotValue(reg, slot)
    }
    const gen = reg.gen[slot]!
    const page = reg.page[slot]!
    const hashHi = reg.hashHi[slot]!
    const hashLo = reg.hashLo[slot]!
    const [bytes] = await readTier(ctx, tier, [slot])
    if (bytes && reg.isLive(slot, gen)) return acceptStored(ctx, slot, tier, bytes, decode, elapsedNow() - started, access)
    // A write issued after this read landed while it ran: the bytes read are still the value
    // as it was when the read was issued, if they are the bytes named then.
    if (bytes && hashMatches(bytes, hashHi, hashLo)) return decode(bytes)
    // The entry changed while we read: deleted, overwritten or moved. Look again.
    const now = ctx.clock.now()
    slot = lookup(ctx, namespace, key, now)
    if (slot < 0) {
      if (access) metrics.misses++
      return undefined
    }
    if (!bytes && reg.gen[slot] === gen && reg.tier[slot] === tier && reg.page[slot] === page) break
  }
  metrics.errors++
  throw new TiermemError('CORRUPT', `the stored value of '${key}' could not be read back from its tier; the entry is damaged`)
}

/** The stored bytes of warm or cold entries, each in its own buffer (a reader may keep them as the hot copy). */
function readTier(ctx: EngineContext, tier: number, slots: readonly number[]): Promise<(Uint8Array | undefined)[]> {
  return tier === WARM
    ? readWarm(ctx, slots, true)
    : getMany(
        ctx.cold,
        slots.map((slot) => storeKey(ctx, slot)),
      )
}

/** getMany(): hot entries straight away, warm and cold ones in one store read per tier. */
export function readMany(ctx: EngineContext, namespace: string, keys: readonly string[], decode: Decode = decodeValue): Promise<unknown[]> {
  return inIssueOrder(ctx, readMustWait(ctx, namespace, keys), () => readManyNow(ctx, namespace, keys, decode))
}

/**
 * getMany() as of now, with no wait for writes (the caller has ordered it). `access: false` is
 * the engine's own read (the vector index's): no statistics, recency, promotion or metrics.
 */
export async function readManyNow(
  ctx: EngineContext,
  namespace: string,
  keys: readonly string[],
  decode: Decode,
  access = true,
  /** The engine reading its own entries, never changing nor handing out the values (hotValue). */
  engineOnly = false,
): Promise<unknown[]> {
  const { reg, metrics } = ctx
  const now = ctx.clock.now()
  const out: unknown[] = new Array(keys.length)
  const pending: Array<{ index: number; slot: number; gen: number; hashHi: number; hashLo: number }>[] = [[], [], []]
  // The hot part of a batch is timed as a whole, one sample per call at its per-key cost: two
  // clock reads per batch cost nothing beside it, and batches are how most hot reads arrive.
  const lookupStarted = metrics.enabled ? elapsedNow() : 0
  let hotHits = 0
  for (let i = 0; i < keys.length; i++) {
    const slot = lookup(ctx, namespace, keys[i]!, now)
    if (slot < 0) {
      checkMetadataIntact(ctx, storeKeyOf(namespace, keys[i]!), keys[i]!)
      if (access) metrics.misses++
      continue
    }
    if (access) recordAccess(ctx, slot, now)
    if (reg.tier[slot] === HOT) {
      if (access) metrics.hits[HOT]!++
      hotHits++
      out[i] = hotValue(reg, slot, engineOnly)
    } else {
      pending[reg.tier[slot]!]!.push({ index: i, slot, gen: reg.gen[slot]!, hashHi: reg.hashHi[slot]!, hashLo: reg.hashLo[slot]! })
    }
  }
  if (hotHits > 0 && access && metrics.enabled) metrics.latency[HOT].record((elapsedNow() - lookupStarted) / keys.length)
  // Both tiers' reads start now, as the call is issued: awaiting warm before asking cold would let
  // a write issued after this call (a delete, a move) land in between.
  const started = elapsedNow()
  const reads = [WARM, COLD].map((tier) =>
    pending[tier]!.length === 0
      ? undefined
      : readTier(
          ctx,
          tier,
          pending[tier]!.map((p) => p.slot),
        ),
  )
  // If the warm read fails, the call rejects with its error and the cold read is never awaited:
  // a handler on each keeps that one's failure from going unhandled (the caller has its answer).
  for (const read of reads) read?.catch(() => undefined)
  for (const tier of [WARM, COLD]) {
    const list = pending[tier]!
    const read = reads[tier - WARM]
    if (!read) continue
    const values = await read
    const elapsed = elapsedNow() - started
    for (let j = 0; j < list.length; j++) {
      const { index, slot, gen, hashHi, hashLo } = list[j]!
      const bytes = values[j]
      if (bytes && reg.isLive(slot, gen)) {
        out[index] = acceptStored(ctx, slot, tier, bytes, decode, elapsed / list.length, access)
      } else if (bytes && hashMatches(bytes, hashHi, hashLo)) {
        // Changed by a later write while the read ran: these are still the bytes named at issue.
        out[index] = decode(bytes)
      } else {
        // Raced with a move: fall back to the single-key path, which re-resolves.
        out[index] = await readNow(ctx, namespace, keys[index]!, decode, access)
      }
    }
  }
  return out
}

/**
 * Queues one background task for an entry (off the reader's path), at most one per entry at a
 * time. The task runs only if the entry is unchanged since it was queued.
 */
function scheduleEntryTask(ctx: EngineContext, slot: number, name: string, task: () => Promise<void> | void): void {
  const { reg } = ctx
  reg.flags[slot]! |= PENDING
  const gen = reg.gen[slot]!
  ctx.lane
    .run(async () => {
      // Clear first: a gen change (a move, a layer change) must not leave the flag stuck.
      reg.flags[slot]! &= ~PENDING
      if (reg.isLive(slot, gen)) await task()
    })
    .catch((error: unknown) => reportBackgroundError(ctx, name, error))
}

/** Seed 000: a non-hot entry read more than `promoteAfterAccesses` times is promoted to hot. */
function maybePromote(ctx: EngineContext, slot: number, bytes: Uint8Array): void {
  const { reg } = ctx
  if (reg.accessCount[slot]! <= ctx.policy.promoteAfterAccesses || reg.flags[slot]! & PENDING) return
  scheduleEntryTask(ctx, slot, 'promotion-failed', async () => {
    if (reg.tier[slot] === WARM) promoteWarmToHot(ctx, slot, bytes)
    else if (reg.tier[slot] === COLD) await moveFromCold(ctx, slot, true, bytes)
  })
}

/** Lazy expiry: an expired entry found by a read is evicted, unless someone holds it. */
function scheduleExpiry(ctx: EngineContext, slot: number): void {
  const { reg } = ctx
  if (reg.refCount[slot] !== 0 || reg.flags[slot]! & PENDING) return
  scheduleEntryTask(ctx, slot, 'expiry-failed', async () => {
    if (reg.refCount[slot] === 0 && reg.expiresAt[slot]! <= ctx.clock.now()) await removeEntries(ctx, [slot], 'expired')
  })
}

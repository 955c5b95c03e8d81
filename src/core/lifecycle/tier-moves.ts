import { decodeValue, deepFreeze, encodeValue, isPlain, isPrimitive } from '../persistence/codec.ts'
import { commit, hotUsage, reportBackgroundError, storeKey, type EngineContext } from '../engine/engine-context.ts'
import { readRecord } from '../registry/entry-record.ts'
import { commitChanges, type Change } from '../persistence/journal.ts'
import { TiermemError } from '../api/errors.ts'
import { TimeSlices } from '../engine/time-slices.ts'
import { verifyContent } from '../persistence/integrity.ts'
import { COLD, DURABLE, HOT, NOT_PLAIN, SHAREABLE, TIER_NAMES, WARM, type Registry } from '../registry/registry.ts'
import { dropColdRecords, dropVolatile } from '../engine/removal.ts'
import { readWarm, warmValueDeletes, withEmptiedPages } from '../persistence/warm-values.ts'

/**
 * Tier moves. All run inside lane tasks. The crash-safety rule for the two stores:
 * the cold store's record for a key is written only while the registry points elsewhere, and
 * the entry's metadata (a journal record in the warm store's meta space, see journal.ts)
 * changes in the same atomic batch that adds or removes the warm value. A crash at any point leaves the entry readable from exactly the one
 * place its metadata names; a cold record nobody names is swept at open.
 */

/**
 * Sets the in-memory copy of a hot entry. It starts as the encoded bytes, which must be the
 * engine's own (a put's prepared copy, or bytes fresh from a store); the first hot read decodes
 * them once and, for plain values, keeps the frozen result (see hotValue). A bulk load pays
 * nothing for entries that are never read hot.
 */
export function setHotValue(reg: Registry, slot: number, bytes: Uint8Array, value?: unknown): void {
  reg.flags[slot]! &= ~(SHAREABLE | NOT_PLAIN)
  if (value !== undefined && isPrimitive(value)) {
    reg.hotValues[slot] = value
    reg.flags[slot]! |= SHAREABLE
  } else {
    reg.hotValues[slot] = bytes
  }
}

/** SHAREABLE and NOT_PLAIN together: the hot value is held decoded, unfrozen, for the engine's own readers (hotValue). */
const ENGINE_SHARED = SHAREABLE | NOT_PLAIN

/**
 * The value a reader gets from a hot entry: the shared frozen value, or a fresh decode.
 *
 * `engineOnly`: the engine reading its own entries (the index reading vector records), which
 * never changes a value it reads nor hands it out. A value that cannot be frozen (it holds a
 * typed array) is then kept decoded and shared with such readers, not decoded per read: in
 * Chromium each decode allocates an ArrayBuffer for the vector, ~10 µs (measured), twenty per
 * recall. Any other reader of such an entry gets its own copy.
 */
export function hotValue(reg: Registry, slot: number, engineOnly = false): unknown {
  const held = reg.hotValues[slot]
  const flags = reg.flags[slot]!
  if ((flags & ENGINE_SHARED) === ENGINE_SHARED) return engineOnly ? held : decodeValue(encodeValue(held))
  if (flags & SHAREABLE) return held
  const decoded = decodeValue(held as Uint8Array)
  if (!(flags & NOT_PLAIN) && isPlain(decoded)) {
    reg.hotValues[slot] = deepFreeze(decoded)
    reg.flags[slot] = flags | SHAREABLE
  } else if (engineOnly) {
    reg.hotValues[slot] = decoded
    reg.flags[slot] = flags | ENGINE_SHARED
  } else {
    reg.flags[slot] = flags | NOT_PLAIN
  }
  return decoded
}

/** Places an entry in a lower tier without its hot copy, and says so (a 'tier' change). Registry only. */
function placeDemoted(ctx: EngineContext, slot: number, tier: typeof WARM | typeof COLD, archived = 0): void {
  const { reg } = ctx
  const from = TIER_NAMES[reg.tier[slot] as 0 | 1 | 2]
  reg.detach(slot)
  if (tier === COLD) reg.clearLocation(slot)
  reg.tier[slot] = tier
  reg.archived[slot] = tier === COLD ? archived : 0
  reg.hotValues[slot] = undefined
  reg.flags[slot]! &= ~(SHAREABLE | NOT_PLAIN)
  reg.attach(slot)
  ctx.metrics.demotions++
  // Only warm → cold is journaled: a hot copy is never durable.
  ctx.feed.publish({ kind: 'tier', key: reg.keys[slot]!, namespace: reg.namespaces[slot]!, from, to: TIER_NAMES[tier] }, tier === COLD)
}

/** Hot → warm for a durable entry: drop the decoded copy; its bytes are in warm already. */
export function demoteHotToWarm(ctx: EngineContext, slot: number): void {
  placeDemoted(ctx, slot, WARM)
}

/** Places an entry in a higher tier (with its hot copy when that is hot), and says so (a 'tier' change). Registry only. */
function placePromoted(ctx: EngineContext, slot: number, tier: typeof HOT | typeof WARM, bytes: Uint8Array): void {
  const { reg } = ctx
  const from = TIER_NAMES[reg.tier[slot] as 0 | 1 | 2]
  reg.detach(slot)
  reg.tier[slot] = tier
  reg.archived[slot] = 0
  if (tier === HOT) setHotValue(reg, slot, bytes)
  reg.attach(slot)
  ctx.metrics.promotions++
  // Only a move out of cold is journaled: a hot copy is never durable.
  ctx.feed.publish({ kind: 'tier', key: reg.keys[slot]!, namespace: reg.namespaces[slot]!, from, to: TIER_NAMES[tier] }, from === 'cold')
}

/** Warm → hot: keep a decoded copy in memory (no store write: the bytes stay in warm). `bytes` were verified. */
export function promoteWarmToHot(ctx: EngineContext, slot: number, bytes: Uint8Array): void {
  placePromoted(ctx, slot, HOT, bytes)
  enforceHotBudget(ctx)
}

/** How many entries one move carries through the stores at a time. */
export const MOVE_CHUNK = 1000
/**
 * The first chunk is smaller: nothing compresses until it has been read and laid out, so a
 * short first step starts the compressor sooner (measured: 20–60 ms of a 10k move's head).
 */
export const FIRST_CHUNK = 200

/** How a move runs: the deflate level of an archive, and whether it is housekeeping that gives way to reads. */
export interface MoveOptions {
  /** Deflate level for archived entries (0: the cold store's own, not archived). */
  level?: number
  /** Housekeeping nobody waits for (idle demotion, archiving): its pauses wait while reads keep arriving (TimeSlices). */
  background?: boolean
}

/**
 * Hot or warm → cold for durable entries, chunk by chunk: read from warm, append to cold, then
 * drop the warm value and journal the entry as cold in one batch. Pipelined three deep: while
 * chunk i is being compressed (on the cold store's compression worker), chunk i+1 is read from
 * IndexedDB and handed to the cold store (it compresses as soon as chunk i is done, so the
 * compressor never waits), and chunk i-1's flip commits. Each chunk keeps the crash-safe order
 * (its cold write is durable before its flip starts), and flips commit in order. Returns how
 * many entries moved.
 */
export async function moveToCold(ctx: EngineContext, slots: readonly number[], options: MoveOptions = {}): Promise<number> {
  if (slots.length === 0) return 0
  const archiveLevel = options.level ?? 0
  const background = options.background === true
  const chunks: number[][] = []
  chunks.push(slots.slice(0, FIRST_CHUNK))
  for (let i = FIRST_CHUNK; i < slots.length; i += MOVE_CHUNK) chunks.push(slots.slice(i, i + MOVE_CHUNK))
  const read = (chunk: readonly number[]) => readWarm(ctx, chunk, false, background)
  // Between the steps; each step slices its own long loops.
  const slices = new TimeSlices({ background })
  let reading = read(chunks[0]!)
  let writing: Promise<number[]> | undefined
  let next: Promise<number[]> | undefined
  let flipping: Promise<number> = Promise.resolve(0)
  let moved = 0
  // Flips chunk i-1 once its cold write is durable, after the flip before it.
  const flipWritten = async () => {
    if (!writing) return
    const moving = await writing
    writing = undefined
    moved += await flipping
    await slices.pause()
    flipping = flipToCold(ctx, moving, archiveLevel)
  }
  try {
    for (let c = 0; c < chunks.length; c++) {
      const values = await reading
      // Reads that arrived meanwhile are answered before this chunk is laid out (and before
      // each flip): a move's steps come back to back and would hold them for tens of ms.
      await slices.pause()
      if (c + 1 < chunks.length) {
        reading = read(chunks[c + 1]!)
        reading.catch(() => undefined) // awaited in the next round; a failure is handled there
      }
      next = writeCold(ctx, chunks[c]!, values, archiveLevel, background)
      next.catch(() => undefined) // awaited by the next flipWritten; a failure is handled there
      await flipWritten()
      writing = next
      next = undefined
    }
    await flipWritten()
  } catch (error) {
    // Never leave a write or flip running behind a failure: the lane's next task must find the
    // stores settled. A cold write without its flip leaves records nobody names, swept at open.
    await Promise.allSettled([writing, next, flipping])
    throw error
  }
  return moved + (await flipping)
}

/** Appends a chunk's values to cold; returns the slots that were written. */
async function writeCold(
  ctx: EngineContext,
  chunk: readonly number[],
  values: readonly (Uint8Array | undefined)[],
  archiveLevel: number,
  background: boolean,
): Promise<number[]> {
  const { reg } = ctx
  const moving: number[] = []
  const coldPuts = []
  for (let i = 0; i < chunk.length; i++) {
    const bytes = values[i]
    if (!bytes) {
      reportBackgroundError(ctx, 'warm-value-missing', new TiermemError('CORRUPT', `the warm value of '${reg.keys[chunk[i]!]}' is missing; it was not moved`))
      continue
    }
    moving.push(chunk[i]!)
    coldPuts.push({ type: 'put' as const, space: 'values' as const, key: storeKey(ctx, chunk[i]!), value: bytes })
  }
  const options = archiveLevel > 0 ? { level: archiveLevel, background } : background ? { background } : undefined
  await commit(ctx.cold, coldPuts, options)
  return moving
}

/**
 * The value leaves warm in the same batch that journals the entry as cold; then the registry
 * follows. Pages the chunk empties are deleted in that same batch (no transaction of their own).
 */
async function flipToCold(ctx: EngineContext, moving: readonly number[], archiveLevel: number): Promise<number> {
  let moved = 0
  const flips = moving.map((slot): Change => {
    const record = readRecord(ctx.reg, slot)
    record.tier = COLD
    record.archived = archiveLevel
    return {
      ops: warmValueDeletes(ctx, slot),
      entry: record,
      apply: () => {
        placeDemoted(ctx, slot, COLD, archiveLevel)
        moved++
      },
    }
  })
  await commitChanges(ctx, withEmptiedPages(ctx, flips, moving))
  return moved
}

/** Cold → warm (or straight to hot): write value and metadata to warm atomically, then drop the cold record. */
export async function moveFromCold(ctx: EngineContext, slot: number, toHot: boolean, knownBytes?: Uint8Array): Promise<void> {
  const { reg } = ctx
  const key = storeKey(ctx, slot)
  const bytes = knownBytes ?? (await ctx.cold.getMany('values', [key]))[0]
  if (!bytes) throw new TiermemError('CORRUPT', `the cold record of '${reg.keys[slot]}' is missing`)
  verifyContent(ctx, slot, bytes)
  const record = readRecord(reg, slot)
  record.tier = WARM
  record.archived = 0
  await commitChanges(ctx, [
    {
      ops: [{ type: 'put', space: 'values', key, value: bytes }],
      entry: record,
      apply: () => placePromoted(ctx, slot, toHot ? HOT : WARM, bytes),
    },
  ])
  await dropColdRecords(ctx, [key])
  if (toHot) enforceHotBudget(ctx)
}

/**
 * What writes keep a tier within: its budget up to the warning threshold less the hysteresis (65 %
 * by default). Why not the whole budget: a hot tier kept full by its own writes read as 100 % of
 * `budget:hot` — an emergency — and each relief to 70 % was undone by the next batch, so the level
 * flapped emergency ↔ warning through any load (warm walked critical → normal → warning the same
 * way). The headroom above is where the pressure levels measure real shortage (a budget lowered
 * at run time, the heap).
 */
export function workingBytes(ctx: EngineContext, tier: 'hot' | 'warm'): number {
  const { warning } = ctx.pressurePolicy.thresholds
  return ctx.budgets[tier] * Math.max(0, warning - ctx.pressurePolicy.hysteresis)
}

/**
 * Keeps hot bytes within a target (by default its working size), least recently used first:
 * durable entries drop their copy (nothing is lost), volatile ones are evicted with reason
 * 'pressure'.
 */
export function enforceHotBudget(ctx: EngineContext, targetBytes = workingBytes(ctx, 'hot')): number {
  const { reg } = ctx
  let moved = 0
  // The index's graph counts too (heldBytes): it cannot be demoted, so entries make room for it.
  while (hotUsage(ctx) > targetBytes) {
    const slot = reg.heads[HOT]!
    if (slot < 0) break
    if (reg.flags[slot]! & DURABLE) demoteHotToWarm(ctx, slot)
    else dropVolatile(ctx, slot, 'pressure')
    moved++
  }
  return moved
}

import type { Store, StoreOp } from '../store/store.ts'
import { decodeValue } from './codec.ts'
import { newJournalState, type JournalState } from './journal-state.ts'
import { DamagedItem, decodeChecked, decodeMetaRecord, encodeChecked, encodeMetaRecord, isChecked } from './meta-record.ts'
import { commit, type EngineContext } from '../engine/engine-context.ts'
import { arrayToRecord, readRecord, recordToArray, storeKeyOf, type EntryRecord } from '../registry/entry-record.ts'
import { TiermemError } from '../api/errors.ts'
import { DURABLE } from '../registry/registry.ts'
import { TimeSlices } from '../engine/time-slices.ts'

/**
 * The registry journal: how entry metadata is persisted in the warm store's `meta` space.
 *
 * Every batch that changes entries carries ONE journal record (a chunk of up to
 * CHUNK_ENTRIES changes) beside its value ops, in the same atomic batch, so a tier flip is
 * still one transaction. Writing a metadata record per entry instead doubled the IndexedDB
 * requests of every put and move (measured: putMany at 0.5× Dexie) and made opening a store
 * read one small record per entry (1.5 s for 100k).
 *
 * Keys of the meta space:
 *   j:<seq>          a journal chunk: [version, [change, …]] where a change is an entry
 *                    record (positional array) or the store key of a deleted entry;
 *                    applied in seq order
 *   s:<gen>:<part>   snapshot parts: every durable entry's record at a checkpoint
 *   checkpoint       [version, gen, seq, parts]: the snapshot in force and the last journal
 *                    seq it contains
 *
 * A checkpoint writes a new snapshot generation (unreferenced until the pointer flips), then
 * the pointer in one put, then deletes what the old pointer named. A crash at any step leaves
 * the pointer naming a complete snapshot; leftovers are deleted at the next open.
 */
/** Version 2: checked records (meta-record.ts) and a pointer in two checked copies. Version 1 still loads. */
const FORMAT_VERSION = 2
const LEGACY_VERSION = 1
export const CHUNK_ENTRIES = 2000
/** Snapshot parts a checkpoint writes in one batch (~16k entries' records, ~2.5 MB). */
const PARTS_PER_BATCH = 8
const CHECKPOINT_KEY = 'checkpoint'
const CHECKPOINT_COPY_KEY = 'checkpoint.copy'
const JOURNAL_PREFIX = 'j:'
const SNAPSHOT_PREFIX = 's:'
const pad = (n: number, width: number) => String(n).padStart(width, '0')
const journalKey = (seq: number) => JOURNAL_PREFIX + pad(seq, 12)
const snapshotKey = (gen: number, part: number) => `${SNAPSHOT_PREFIX}${pad(gen, 8)}:${pad(part, 6)}`

/** A change to the registry: a record to upsert, or the store key of a deleted entry. */
export type JournalEntry = EntryRecord | string

/** Store ops that journal these changes; commit them in the same batch as the value ops. */
export function journalOps(ctx: EngineContext, entries: readonly JournalEntry[]): StoreOp[] {
  const ops: StoreOp[] = []
  // Each chunk leads with the change feed's high-water mark once its changes are applied: every
  // durable change takes one number and journals one entry, so this bounds them all (change-feed.ts).
  const seqMark = ctx.feed.nextSeq + entries.length
  for (let i = 0; i < entries.length; i += CHUNK_ENTRIES) {
    const value = encodeEntries(entries.slice(i, i + CHUNK_ENTRIES), seqMark)
    ops.push({ type: 'put', space: 'meta', key: journalKey(ctx.journal.nextSeq++), value })
  }
  ctx.journal.entriesSince += entries.length
  if (ops.length > 0 && ctx.journal.riders.length > 0) ops.push(...ctx.journal.riders.splice(0))
  return ops
}

/** A registry change, the warm value ops that must land with it, and what to do once they have. */
export interface Change {
  ops?: readonly StoreOp[]
  entry?: JournalEntry
  /** Updates the in-memory registry; called once the batch holding this change has committed. */
  apply?: () => void
  /** Changes with the same unit land in one batch or not at all (the items of one putMany). */
  unit?: object
}

/**
 * Commits changes to the warm store atomically in as few batches as its maxBatchSize allows,
 * each batch carrying the journal records of exactly its own changes (so no batch holds values
 * whose metadata is in another), and applies each batch's changes once it has landed, in order.
 * If a batch fails, the ones before it stay committed and applied; the error propagates.
 */
export async function commitChanges(ctx: EngineContext, changes: readonly Change[]): Promise<void> {
  const limit = ctx.warm.capabilities.maxBatchSize
  for (let start = 0; start < changes.length;) {
    let end = start
    let ops = 0
    let entries = 0
    while (end < changes.length) {
      const change = changes[end]!
      const nextOps = ops + (change.ops?.length ?? 0)
      const nextEntries = entries + (change.entry === undefined ? 0 : 1)
      if (end > start && nextOps + Math.ceil(nextEntries / CHUNK_ENTRIES) > limit) break
      ops = nextOps
      entries = nextEntries
      end++
    }
    // Never end a batch inside a unit: it goes whole into the next batch, or fails whole.
    const unit = changes[end - 1]!.unit
    if (end < changes.length && unit !== undefined && changes[end]!.unit === unit) {
      let unitStart = end - 1
      while (unitStart > start && changes[unitStart - 1]!.unit === unit) unitStart--
      if (unitStart === start) {
        throw new TiermemError(
          'INVALID_OPTION',
          `a putMany needs more than the ${limit} operations the ${ctx.warm.backend} store commits atomically; split it into smaller putMany calls`,
        )
      }
      end = unitStart
    }
    const slice = changes.slice(start, end)
    const batch: StoreOp[] = []
    const journal: JournalEntry[] = []
    for (const change of slice) {
      if (change.ops) batch.push(...change.ops)
      if (change.entry !== undefined) journal.push(change.entry)
    }
    batch.push(...journalOps(ctx, journal))
    if (batch.length > 0) await ctx.warm.batch(batch)
    for (const change of slice) change.apply?.()
    start = end
  }
}

/** A journal chunk or snapshot part: each record, or deleted store key, checked on its own (meta-record.ts). */
function encodeEntries(entries: readonly JournalEntry[], seqMark?: number): Uint8Array {
  const items: unknown[] = seqMark === undefined ? [] : [seqMark]
  const keys: string[] = seqMark === undefined ? [] : ['']
  for (const e of entries) {
    items.push(typeof e === 'string' ? e : recordToArray(e))
    keys.push(typeof e === 'string' ? e : storeKeyOf(e.namespace, e.key))
  }
  return encodeMetaRecord(items, keys)
}

/** The items of a chunk or snapshot part; version 1 ones (one msgpack array, no checksums) still load. */
function decodeChunk(bytes: Uint8Array, what: string): unknown[] {
  return decodeMetaRecord(bytes, what, (legacy) => {
    try {
      const chunk = decodeValue(legacy)
      return Array.isArray(chunk) && chunk[0] === LEGACY_VERSION && Array.isArray(chunk[1]) ? (chunk[1] as unknown[]) : undefined
    } catch {
      return undefined
    }
  })
}

/**
 * Sends one decoded item to the sink. A record that passed its check but does not parse was
 * written by a newer tiermem; one that failed its check makes its entry damaged.
 */
function replayItem(item: unknown, sink: RegistrySink): void {
  // A damaged sequence mark ('' names no entry): the next chunk's, or the pointer's, covers it.
  if (item instanceof DamagedItem) {
    if (item.storeKey !== '') sink.damaged(item.storeKey)
  } else if (typeof item === 'string') sink.remove(item)
  else sink.upsert(arrayToRecord(item))
}

export interface StoredRegistry {
  /** Every entry's latest record, by store key. */
  records: Map<string, EntryRecord>
  /** Entries whose latest change failed its check. */
  damaged: Set<string>
  state: JournalState
  /** Meta keys no longer needed (journal before the checkpoint, snapshots of other generations). */
  garbage: string[]
}

/** Where a replay of the stored registry sends each change, oldest first. */
export interface RegistrySink {
  /** An entry's record: new, or replacing the one given before under the same key. */
  upsert(record: EntryRecord): void
  /** An entry deleted (its store key); it may have been given before, or not. */
  remove(storeKey: string): void
  /** A change to this entry failed its check: what the entry is now is not known. */
  damaged(storeKey: string): void
}

/** Every entry's latest record, by store key (for tests and tools; the engine replays into its registry). */
export async function readStoredRegistry(store: Store): Promise<StoredRegistry> {
  const records = new Map<string, EntryRecord>()
  const damaged = new Set<string>()
  const { state, garbage } = await replayStoredRegistry(store, {
    upsert: (record) => {
      const key = storeKeyOf(record.namespace, record.key)
      records.set(key, record)
      damaged.delete(key)
    },
    remove: (storeKey) => {
      records.delete(storeKey)
      damaged.delete(storeKey)
    },
    damaged: (storeKey) => {
      records.delete(storeKey)
      damaged.add(storeKey)
    },
  })
  return { records, damaged, state, garbage }
}

/**
 * Replays the registry as stored: the snapshot in force, then the journal after it, into
 * `sink`. Straight into the sink, not through a map of its own: at 100k entries a second map
 * of store keys was a quarter of the open time (measured).
 */
export async function replayStoredRegistry(store: Store, sink: RegistrySink): Promise<Omit<StoredRegistry, 'records' | 'damaged'>> {
  const state = newJournalState()
  const garbage: string[] = []
  const pointer = await readPointer(store)
  if (pointer) {
    ;[, state.gen, state.checkpointSeq, state.parts] = pointer as [number, number, number, number]
    state.feedSeq = pointer[6] ?? 0
    const keys = Array.from({ length: state.parts }, (_, part) => snapshotKey(state.gen, part))
    const values = await store.getMany('meta', keys)
    // Every part is checked before any is replayed: a missing one fails the open with nothing applied.
    values.forEach((bytes, part) => {
      if (!bytes) throw new TiermemError('CORRUPT', `snapshot part ${part} of registry generation ${state.gen} is missing`)
    })
    values.forEach((bytes, part) => {
      for (const item of decodeChunk(bytes!, `snapshot part ${part} of registry generation ${state.gen}`)) replayItem(item, sink)
    })
    // The generation before this one, if a crash came between the pointer flip and its deletion.
    const [previousGen = 0, previousParts = 0] = pointer.slice(4) as number[]
    garbage.push(
      ...(await existing(
        store,
        Array.from({ length: previousParts }, (_, part) => snapshotKey(previousGen, part)),
      )),
    )
  }
  // Parts of this generation past those it names: a checkpoint that failed partway, and then one
  // of the same number that wrote fewer parts.
  if (pointer) garbage.push(...(await partsFrom(store, state.gen, state.parts)))
  // The generation after this one, if a crash came before its pointer flip: its parts are unnamed.
  garbage.push(...(await partsFrom(store, state.gen + 1, 0)))
  // The journal: only its own key range is read (snapshot parts sort after it and are not re-read).
  state.nextSeq = state.checkpointSeq + 1
  for (let after = JOURNAL_PREFIX; ;) {
    // 'j;' is the first key past every 'j:…' key: nothing after the journal is read.
    const page = await store.scan('meta', { after, before: 'j;', limit: 200 })
    for (const [key, bytes] of page) {
      const seq = Number(key.slice(JOURNAL_PREFIX.length))
      if (seq <= state.checkpointSeq) {
        garbage.push(key)
        continue
      }
      for (const item of decodeChunk(bytes, `journal chunk ${seq}`)) {
        if (typeof item === 'number') {
          state.feedSeq = Math.max(state.feedSeq, item)
          continue
        }
        replayItem(item, sink)
        state.entriesSince++
      }
      state.nextSeq = seq + 1
    }
    if (page.length < 200) break
    after = page[page.length - 1]![0]
  }
  return { state, garbage }
}

/**
 * The checkpoint pointer: [version, gen, seq, parts, previous gen, previous parts, change feed
 * high-water mark]. Written in
 * two checked copies; a damaged copy is passed over for the other. A version 1 pointer (one
 * plain copy) still loads.
 */
async function readPointer(store: Store): Promise<number[] | undefined> {
  const copies = await store.getMany('meta', [CHECKPOINT_KEY, CHECKPOINT_COPY_KEY])
  if (!copies[0] && !copies[1]) return undefined
  let pointer: unknown
  if (!copies[1] && copies[0] && !isChecked(copies[0])) {
    // Version 1 wrote one plain copy; version 2 always writes both.
    pointer = decodeValue(copies[0])
  } else {
    const good = copies.map((bytes) => (bytes ? decodeChecked(bytes) : undefined)).find((copy) => copy !== undefined)
    if (!good) throw new TiermemError('CORRUPT', 'both copies of the registry checkpoint pointer are damaged')
    pointer = good.value
  }
  if (
    !Array.isArray(pointer) ||
    (pointer[0] !== LEGACY_VERSION && pointer[0] !== FORMAT_VERSION) ||
    pointer.length < 4 ||
    !pointer.every((n) => typeof n === 'number')
  ) {
    throw new TiermemError('CORRUPT', 'the registry checkpoint pointer has an unknown layout; it was written by a newer tiermem or is damaged')
  }
  return pointer as number[]
}

/** The keys of a generation's parts that exist from `first` on, up to the first missing one (parts are written in order). */
async function partsFrom(store: Store, gen: number, first: number): Promise<string[]> {
  const keys: string[] = []
  for (let part = first; ; part++) {
    const [key] = await existing(store, [snapshotKey(gen, part)])
    if (!key) return keys
    keys.push(key)
  }
}

/** Which of these meta keys exist. */
async function existing(store: Store, keys: string[]): Promise<string[]> {
  if (keys.length === 0) return []
  const values = await store.getMany('meta', keys)
  return keys.filter((_, i) => values[i] !== undefined)
}

/**
 * Writes a checkpoint once the journal since the last one holds more changes than the registry
 * has entries (lane only). Inserts alone never trigger it — a journal of inserts is as compact as
 * a snapshot — so bulk loads are written once; updates and stats make the journal outgrow the
 * registry, and opening then reads at most about twice the registry.
 */
export async function maybeCheckpoint(ctx: EngineContext): Promise<boolean> {
  if (ctx.journal.entriesSince <= Math.max(5_000, ctx.reg.size)) return false
  await checkpoint(ctx)
  return true
}

/** Snapshot of every durable entry, then the pointer flip, then the old journal and snapshot go (lane only). */
export async function checkpoint(ctx: EngineContext): Promise<void> {
  const { reg, journal } = ctx
  const gen = journal.gen + 1
  // Inside the lane, the registry reflects every journal chunk committed so far.
  const lastSeq = journal.nextSeq - 1
  // A part at a time, written PARTS_PER_BATCH at a time: every entry's record made first, and
  // every part held until one commit, was ~20 MB live at once at 100k entries, inside whatever
  // write crossed the threshold (a backup's, measured). No write lands between two batches: this
  // runs in the lane. Parts written before a crash or a failed batch name no snapshot until the
  // pointer flips; the next open deletes them.
  const slots: number[] = []
  for (const slot of reg.slots()) if (reg.flags[slot]! & DURABLE) slots.push(slot)
  let parts = 0
  let batch: StoreOp[] = []
  // Reads get in between parts: a batch's eight took 30–60 ms to encode in one go at 100k entries.
  const slices = new TimeSlices()
  for (let i = 0; i < slots.length; i += CHUNK_ENTRIES) {
    await slices.pace()
    const records = slots.slice(i, i + CHUNK_ENTRIES).map((slot) => readRecord(reg, slot))
    batch.push({ type: 'put', space: 'meta', key: snapshotKey(gen, parts++), value: encodeEntries(records) })
    if (batch.length === PARTS_PER_BATCH || i + CHUNK_ENTRIES >= slots.length) {
      await commit(ctx.warm, batch)
      batch = []
    }
  }
  // The pointer also names the generation it replaces, so a crash before that one is deleted
  // leaves keys the next open can find without reading every snapshot part.
  const pointer = encodeChecked([FORMAT_VERSION, gen, lastSeq, parts, journal.gen, journal.parts, ctx.feed.nextSeq])
  await ctx.warm.batch([
    { type: 'put', space: 'meta', key: CHECKPOINT_KEY, value: pointer },
    { type: 'put', space: 'meta', key: CHECKPOINT_COPY_KEY, value: pointer },
  ])
  const previous = { gen: journal.gen, seq: journal.checkpointSeq, parts: journal.parts }
  Object.assign(journal, { gen, checkpointSeq: lastSeq, parts, entriesSince: 0 })
  // What the old pointer named is garbage now. A crash before it is deleted is cleaned at the
  // next open (the pointer names the previous generation); a failed delete is retried with the
  // next checkpoint, since by then the pointer no longer names it.
  const garbage = [...journal.leftovers]
  for (let seq = previous.seq + 1; seq <= lastSeq; seq++) garbage.push(journalKey(seq))
  for (let part = 0; part < previous.parts; part++) garbage.push(snapshotKey(previous.gen, part))
  journal.leftovers = []
  try {
    await commit(
      ctx.warm,
      garbage.map((key): StoreOp => ({ type: 'delete', space: 'meta', key })),
    )
  } catch (error) {
    journal.leftovers = garbage
    throw error
  }
}

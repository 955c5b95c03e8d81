import type { StoreOp } from '../store/store.ts'
import { commit, getMany, reportBackgroundError, storeKey, type EngineContext } from '../engine/engine-context.ts'
import type { EntryRecord } from '../registry/entry-record.ts'
import type { Change } from './journal.ts'
import { PAGE_BYTES, PAGE_VALUE_MAX, pageKey, pageKeyPrefix } from './warm-pages.ts'

/**
 * Where durable values sit in the warm store, and how they are read, written and dropped there:
 * alone under the entry's store key, or packed with others of the same batch in a page (see
 * warm-pages.ts for why and for the rules that keep pages crash-safe).
 */

/**
 * Reads the warm values of entries in one store read (a page shared by several is read once).
 * `copy`: give each value its own buffer (values a caller keeps must not pin a whole page).
 * An entry whose value is missing gets undefined.
 */
export async function readWarm(ctx: EngineContext, slots: readonly number[], copy: boolean, background = false): Promise<(Uint8Array | undefined)[]> {
  const { reg } = ctx
  const keys: string[] = []
  const pageIndex = new Map<number, number>()
  // Where to find each value, taken before the read: the entry may move while it runs.
  const at = new Int32Array(slots.length)
  const paged = new Uint8Array(slots.length)
  const offsets = new Uint32Array(slots.length)
  const sizes = new Uint32Array(slots.length)
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]!
    const page = reg.page[slot]!
    if (page === 0) {
      at[i] = keys.push(storeKey(ctx, slot)) - 1
      continue
    }
    paged[i] = 1
    offsets[i] = reg.pageOffset[slot]!
    sizes[i] = reg.sizeBytes[slot]!
    let index = pageIndex.get(page)
    if (index === undefined) {
      const key = reg.pages.keyOf(page)
      index = key === undefined ? -1 : keys.push(key) - 1
      pageIndex.set(page, index)
    }
    at[i] = index
  }
  const values = await getMany(ctx.warm, keys, background)
  const out: (Uint8Array | undefined)[] = new Array(slots.length)
  for (let i = 0; i < slots.length; i++) {
    const bytes = at[i]! < 0 ? undefined : values[at[i]!]
    if (!bytes || paged[i] === 0) {
      out[i] = bytes
      continue
    }
    const end = offsets[i]! + sizes[i]!
    out[i] = end > bytes.byteLength ? undefined : copy ? bytes.slice(offsets[i], end) : bytes.subarray(offsets[i], end)
  }
  return out
}

/** A change whose entry record is a durable put of `bytes` to warm, to be packed if it fits a page. */
export interface Packable {
  change: Change
  record: EntryRecord
  bytes: Uint8Array
  /** The store key of a value this entry had alone in warm, deleted if the new one goes to a page. */
  replacesAlone?: string
}

/**
 * Packs small values of one batch into pages: each record is pointed at its page and offset,
 * the page's put rides with the first change that names it (so commitChanges, which keeps the
 * order and may split between changes, never commits a record before its page), and that
 * change's apply registers the page. A value too large, or alone, keeps its own put.
 */
export function packIntoPages(ctx: EngineContext, items: readonly Packable[]): void {
  let run: Packable[] = []
  let runBytes = 0
  const flush = () => {
    if (run.length > 1) writePage(ctx, run, runBytes)
    run = []
    runBytes = 0
  }
  for (const item of items) {
    const size = item.bytes.byteLength
    if (size > PAGE_VALUE_MAX || size === 0) continue
    if (runBytes + size > PAGE_BYTES) flush()
    run.push(item)
    runBytes += size
  }
  flush()
}

function writePage(ctx: EngineContext, run: readonly Packable[], total: number): void {
  const id = ctx.reg.pages.allocateId()
  const page = new Uint8Array(total)
  const key = pageKey(id, total)
  let offset = 0
  for (const item of run) {
    page.set(item.bytes, offset)
    item.record.page = id
    item.record.pageOffset = offset
    item.change.ops = item.replacesAlone === undefined ? [] : [{ type: 'delete', space: 'values', key: item.replacesAlone }]
    offset += item.bytes.byteLength
  }
  const first = run[0]!.change
  first.ops = [{ type: 'put', space: 'values', key, value: page }, ...first.ops!]
  const apply = first.apply
  first.apply = () => {
    ctx.reg.pages.add(id, key, total)
    apply?.()
  }
}

/** The warm op that drops an entry's value when it leaves warm: a delete if stored alone; nothing for a paged value (its page goes once empty). */
export function warmValueDeletes(ctx: EngineContext, slot: number): StoreOp[] {
  return ctx.reg.page[slot] === 0 ? [{ type: 'delete', space: 'values', key: storeKey(ctx, slot) }] : []
}

/**
 * The ops that delete these pages: a run of consecutive ids (a bulk load moved or deleted
 * together) as one range delete where the warm store takes them — every id of the run is in
 * `pages`, so the range holds nothing else — and single deletes otherwise.
 */
function pageDeleteOps(ctx: EngineContext, pages: ReadonlyArray<{ id: number; key: string }>): StoreOp[] {
  const sorted = [...pages].sort((a, b) => a.id - b.id)
  if (!ctx.warm.capabilities.rangeDeletes) return sorted.map(({ key }): StoreOp => ({ type: 'delete', space: 'values', key }))
  const ops: StoreOp[] = []
  for (let start = 0; start < sorted.length;) {
    let end = start + 1
    while (end < sorted.length && sorted[end]!.id === sorted[end - 1]!.id + 1) end++
    if (end - start === 1) ops.push({ type: 'delete', space: 'values', key: sorted[start]!.key })
    else ops.push({ type: 'deleteRange', space: 'values', after: pageKeyPrefix(sorted[start]!.id), before: pageKeyPrefix(sorted[end - 1]!.id + 1) })
    start = end
  }
  return ops
}

/**
 * Deletes the pages no committed record names any more. Call after the changes that emptied
 * them have committed. Best effort: a page left behind is garbage deleted at the next open.
 */
export async function reclaimPages(ctx: EngineContext): Promise<void> {
  const taken = ctx.reg.pages.takeEmpty()
  if (taken.length === 0) return
  try {
    await commit(ctx.warm, pageDeleteOps(ctx, taken))
  } catch (error) {
    ctx.reg.pages.restore(taken)
    reportBackgroundError(ctx, 'warm-page-delete-failed', error)
  }
}

/**
 * `changes`, then the change that deletes the pages the entries in `slots` leave empty once
 * `changes` have landed. It goes last: if commitChanges splits the changes into several
 * batches, the page deletes land with the last one, once nothing else names those pages.
 */
export function withEmptiedPages(ctx: EngineContext, changes: readonly Change[], slots: Iterable<number>): readonly Change[] {
  const emptied = pagesEmptiedBy(ctx, slots)
  return emptied ? [...changes, emptied] : changes
}

/**
 * The change that deletes the pages these entries leave empty (every entry a page still holds
 * is among them). Pages whose key is unknown (missing at open) are left to takeEmpty.
 */
function pagesEmptiedBy(ctx: EngineContext, slots: Iterable<number>): Change | undefined {
  const { reg } = ctx
  const leaving = new Map<number, number>()
  // Each slot once: counting a slot twice could call a page empty that another entry still names.
  for (const slot of new Set(slots)) {
    const page = reg.page[slot]!
    if (page !== 0) leaving.set(page, (leaving.get(page) ?? 0) + 1)
  }
  const emptied: Array<{ id: number; key: string }> = []
  for (const [id, count] of leaving) {
    const key = reg.pages.keyOf(id)
    if (key !== undefined && count === reg.pages.countOf(id)) emptied.push({ id, key })
  }
  if (emptied.length === 0) return undefined
  return { ops: pageDeleteOps(ctx, emptied), apply: () => reg.pages.forget(emptied.map((page) => page.id)) }
}

/**
 * Warm pages: the small values of one batch packed into a few warm records.
 *
 * Why: IndexedDB's cost is per record, not per byte. Measured in Chromium on 10k × 1 KiB, a
 * record costs ~70 µs to write, ~50 µs to read and ~100 µs to delete whatever its size up to
 * tens of KiB, so a putMany stored one record per value trailed idb-keyval, and a warm → cold
 * move spent more time reading and deleting 10k records than compressing them. A page holds
 * the values of many entries of one batch; the registry names each entry's page and offset.
 *
 * Rules that keep it crash-safe and simple:
 * - a page is written once and never changed (ids only grow, a page is never reused);
 * - a page is written in the same atomic batch as (or before) the journal records that name
 *   it, so no committed entry names a page that is not there;
 * - a page is deleted only once no committed record names it; a crash before that leaves a
 *   page nobody names, deleted at the next open.
 * Values of more than PAGE_VALUE_MAX bytes, and lone values, are stored alone as before.
 */

/** A page is closed once it holds this many bytes: under Chromium's 64 KiB threshold past which IndexedDB wraps a value in a blob file. */
export const PAGE_BYTES = 32 * 1024
/** Larger values are stored alone (a page would hold too few of them to pay). */
export const PAGE_VALUE_MAX = 8 * 1024
/** A page is rewritten by gc once no more than this share of its bytes is named by entries. */
export const PAGE_SPARSE_RATIO = 0.5

/**
 * Page keys start with NUL: an entry's store key is `namespace NUL key` with a non-empty
 * namespace, so no entry key starts with NUL and the range [NUL, \u0001) holds pages only.
 * The key also names the page's byte length, so its dead share is known at open without a read.
 */
export const PAGE_RANGE = { after: '\u0000', before: '\u0001' } as const
const PAGE_PREFIX = '\u0000p'

export function pageKey(id: number, bytes: number): string {
  return `${pageKeyPrefix(id)}.${bytes.toString(36)}`
}

/** Every key of page `id` starts with this; ids are fixed-width, so the prefixes sort as the ids do. */
export function pageKeyPrefix(id: number): string {
  return PAGE_PREFIX + id.toString(36).padStart(8, '0')
}

export function parsePageKey(key: string): { id: number; bytes: number } | undefined {
  if (!key.startsWith(PAGE_PREFIX)) return undefined
  const dot = key.indexOf('.', PAGE_PREFIX.length)
  if (dot < 0) return undefined
  const id = parseInt(key.slice(PAGE_PREFIX.length, dot), 36)
  const bytes = parseInt(key.slice(dot + 1), 36)
  return Number.isSafeInteger(id) && id > 0 && Number.isSafeInteger(bytes) ? { id, bytes } : undefined
}

interface PageState {
  /** The store key; undefined while the page is named by records but was not found in the store. */
  key: string | undefined
  /** Bytes the page occupies. */
  bytes: number
  /** Entries that name the page, and their bytes. */
  count: number
  liveBytes: number
}

/**
 * Which pages exist and how many entries still name each. The registry keeps it exact: every
 * change of an entry's location goes through Registry.setLocation / clearLocation.
 */
export class PageTable {
  private readonly states = new Map<number, PageState>()
  /** Pages whose count reached 0 at some point; confirmed at takeEmpty (a rewrite may re-place). */
  private readonly emptied = new Set<number>()
  /** Pages that fell to PAGE_SPARSE_RATIO live or below (checked again when taken). */
  private readonly sparsePages = new Set<number>()
  private nextId = 1
  /** Sums over all pages, kept as they change (stats() reads them; 1M entries are ~30k pages). */
  private bytesSum = 0
  private liveSum = 0

  /** An id never used before in this store. */
  allocateId(): number {
    return this.nextId++
  }

  /** A page that is in the store (written now, or found at open). */
  add(id: number, key: string, bytes: number): void {
    const state = this.state(id)
    this.untrack(state)
    state.key = key
    state.bytes = bytes
    this.track(state)
    if (state.count === 0) this.emptied.add(id)
  }

  place(id: number, size: number): void {
    const state = this.state(id)
    this.untrack(state)
    state.count++
    state.liveBytes += size
    this.track(state)
  }

  release(id: number, size: number): void {
    const state = this.states.get(id)
    if (!state) return
    this.untrack(state)
    state.count--
    state.liveBytes -= size
    this.track(state)
    if (state.count === 0) this.emptied.add(id)
    else if (state.liveBytes <= state.bytes * PAGE_SPARSE_RATIO) this.sparsePages.add(id)
  }

  /** Entries that name page `id` (0 for an unknown page). */
  countOf(id: number): number {
    return this.states.get(id)?.count ?? 0
  }

  /** Pages deleted with the change that emptied them: no longer tracked (only if nothing names them now). */
  forget(ids: readonly number[]): void {
    for (const id of ids) {
      const state = this.states.get(id)
      if (state?.count !== 0) continue
      this.untrack(state)
      this.states.delete(id)
      this.emptied.delete(id)
    }
  }

  keyOf(id: number): string | undefined {
    return this.states.get(id)?.key
  }

  get size(): number {
    return this.states.size
  }

  /** Bytes held by pages and the part of them no entry names (dead until the page goes). */
  totals(): { bytes: number; deadBytes: number } {
    return { bytes: this.bytesSum, deadBytes: this.bytesSum - this.liveSum }
  }

  /**
   * Removes the pages no entry names and returns their keys, for the caller to delete. If that
   * delete fails, hand them back with `restore` (or the next open deletes them).
   */
  takeEmpty(): Array<{ id: number; key: string; bytes: number }> {
    const taken: Array<{ id: number; key: string; bytes: number }> = []
    for (const id of this.emptied) {
      const state = this.states.get(id)
      if (!state || state.count !== 0) continue
      this.untrack(state)
      this.states.delete(id)
      if (state.key !== undefined) taken.push({ id, key: state.key, bytes: state.bytes })
    }
    this.emptied.clear()
    return taken
  }

  restore(pages: ReadonlyArray<{ id: number; key: string; bytes: number }>): void {
    for (const page of pages) if (!this.states.has(page.id)) this.add(page.id, page.key, page.bytes)
  }

  /** Looks at every page once (after open): which are sparse already. */
  findSparse(): void {
    for (const [id, state] of this.states) if (this.isSparse(state)) this.sparsePages.add(id)
  }

  /**
   * Up to `limit` pages whose live share is at most PAGE_SPARSE_RATIO, for gc to rewrite; they
   * leave the candidate set (a page that is still sparse after a failed rewrite comes back at
   * its next release, or at the next open).
   */
  takeSparse(limit: number): number[] {
    const taken: number[] = []
    for (const id of this.sparsePages) {
      if (taken.length >= limit) break
      this.sparsePages.delete(id)
      const state = this.states.get(id)
      if (state && this.isSparse(state)) taken.push(id)
    }
    return taken
  }

  /** A page's share of the sums: take it out before the page changes, put it back after. */
  private untrack(state: PageState): void {
    this.bytesSum -= state.bytes
    this.liveSum -= Math.min(state.liveBytes, state.bytes)
  }

  private track(state: PageState): void {
    this.bytesSum += state.bytes
    this.liveSum += Math.min(state.liveBytes, state.bytes)
  }

  private isSparse(state: PageState): boolean {
    return state.count > 0 && state.key !== undefined && state.liveBytes <= state.bytes * PAGE_SPARSE_RATIO
  }

  private state(id: number): PageState {
    let state = this.states.get(id)
    if (!state) {
      state = { key: undefined, bytes: 0, count: 0, liveBytes: 0 }
      this.states.set(id, state)
      if (id >= this.nextId) this.nextId = id + 1
    }
    return state
  }
}

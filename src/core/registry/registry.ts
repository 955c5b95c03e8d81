import { grownArray, type GrowableArray } from '../engine/grown-array.ts'
import { ExpiryHeap } from './expiry-heap.ts'
import { InternTable } from './intern-table.ts'
import { DEFAULT_NAMESPACE } from '../api/validate.ts'
import { PageTable } from '../persistence/warm-pages.ts'

/** Tier codes as stored in `Registry.tier`. */
export const HOT = 0
export const WARM = 1
export const COLD = 2
export const FREE = 255
export const TIER_NAMES = ['hot', 'warm', 'cold'] as const

/** Bits of `Registry.flags`. */
export const EVICTABLE = 1
export const DURABLE = 2
/** The entry has been reference-counted: at refCount 0 it is an orphan gc may collect. */
export const REFERENCED = 4
/** `hotValues[slot]` is a frozen (or primitive) value handed out as is; otherwise it holds bytes. */
export const SHAREABLE = 8
/** Access statistics changed since the metadata was last persisted. */
export const STATS_DIRTY = 16
/** A background task (promotion, expiry eviction) for this entry is queued. */
export const PENDING = 32
/** The hot bytes were decoded once and are not plain: decode a fresh copy per read. */
export const NOT_PLAIN = 64
/** One of the references is held by the open task scope of the entry's taskId (released if that scope is gone at open). */
export const SCOPE_HELD = 128
/** Flags that are persisted with the entry (the rest are in-memory state). */
export const PERSISTED_FLAGS = EVICTABLE | DURABLE | REFERENCED | SCOPE_HELD
/** Most distinct entry types in use at once (ids are 16 bits). */
export const MAX_TYPES = 0xffff

const NONE = -1

/**
 * Entry metadata for every entry, held as a struct of typed arrays indexed by slot.
 * Why not an object per entry: at 1,000,000 entries objects cost ~2× the heap and every
 * field read chases a pointer; typed arrays keep a hot `get` allocation-free (lru-cache does the
 * same). Each tier keeps a doubly linked recency list through `prev`/`next`: its head is the
 * least recently used entry, so idle demotion walks only the entries that are due.
 *
 * Counters per tier and per layer are kept exact by routing every change through
 * `detach()` → change → `attach()`.
 */
export class Registry {
  capacity: number
  size = 0
  keys: (string | undefined)[] = []
  namespaces: (string | undefined)[] = []
  /** Task ids of the entries put in a task scope (the few that have one, as with tags). */
  taskIds = new Map<number, string>()
  /** Decoded value (SHAREABLE) or encoded bytes of hot entries; undefined elsewhere. */
  hotValues: unknown[] = []
  /** Tags of the few entries that have them. */
  tags = new Map<number, string[]>()

  type: Uint16Array
  layer: Uint8Array
  tier: Uint8Array
  flags: Uint8Array
  importance: Float32Array
  relevance: Float32Array
  createdAt: Float64Array
  lastAccessedAt: Float64Array
  /** Infinity when the entry never expires. */
  expiresAt: Float64Array
  /** The ttlMs given to put; NaN = the layer's TTL (recomputed when the layer changes). */
  ttlMs: Float64Array
  accessCount: Uint32Array
  sizeBytes: Uint32Array
  refCount: Uint32Array
  hashHi: Uint32Array
  hashLo: Uint32Array
  /** The warm page holding a durable entry's value (see warm-pages.ts); 0: stored alone under its key. */
  page: Uint32Array
  /** The value's offset in its page. */
  pageOffset: Uint32Array
  /** The deflate level an archived entry is kept at in cold (its archive rule's); 0: not archived. */
  archived: Uint8Array
  /** Bumped on every write of a slot: background tasks compare it to detect a changed entry. */
  gen: Uint32Array
  prev: Int32Array
  next: Int32Array

  readonly heads = new Int32Array([NONE, NONE, NONE])
  readonly tails = new Int32Array([NONE, NONE, NONE])
  readonly tierCount = new Float64Array(3)
  readonly tierBytes = new Float64Array(3)
  /** Bytes of durable entries whose value sits in the warm store (hot durable + warm). */
  warmStoredBytes = 0
  /** Archived entries and their values' bytes (stats().archive). */
  archivedCount = 0
  archivedBytes = 0
  layerCount: number[] = []
  layerBytes: number[] = []
  /** Members of capacity-limited layers (small by design), so transfer and cleanup need no scan. */
  layerMembers: (Set<number> | undefined)[] = []
  /** Warm pages and how many entries each holds; kept exact by setLocation / clearLocation. */
  readonly pages = new PageTable()

  readonly typeNames = new InternTable(MAX_TYPES, 'entry types', true)
  readonly layerNames = new InternTable(0xff, 'layers')
  readonly expiry = new ExpiryHeap()
  private expiringCount = 0
  private readonly byNamespace = new Map<string, Map<string, number>>()
  /** The default namespace's keys, kept out of `byNamespace` so the common lookup is one Map.get. */
  private readonly defaultKeys = new Map<string, number>()
  private readonly freeSlots: number[] = []

  constructor(initialCapacity = 1024) {
    this.capacity = initialCapacity
    this.type = new Uint16Array(initialCapacity)
    this.layer = new Uint8Array(initialCapacity)
    this.tier = new Uint8Array(initialCapacity).fill(FREE)
    this.flags = new Uint8Array(initialCapacity)
    this.importance = new Float32Array(initialCapacity)
    this.relevance = new Float32Array(initialCapacity)
    this.createdAt = new Float64Array(initialCapacity)
    this.lastAccessedAt = new Float64Array(initialCapacity)
    this.expiresAt = new Float64Array(initialCapacity)
    this.ttlMs = new Float64Array(initialCapacity)
    this.accessCount = new Uint32Array(initialCapacity)
    this.sizeBytes = new Uint32Array(initialCapacity)
    this.refCount = new Uint32Array(initialCapacity)
    this.archived = new Uint8Array(initialCapacity)
    this.hashHi = new Uint32Array(initialCapacity)
    this.hashLo = new Uint32Array(initialCapacity)
    this.page = new Uint32Array(initialCapacity)
    this.pageOffset = new Uint32Array(initialCapacity)
    this.gen = new Uint32Array(initialCapacity)
    this.prev = new Int32Array(initialCapacity)
    this.next = new Int32Array(initialCapacity)
  }

  /** The slot of a live entry, or -1. */
  find(namespace: string, key: string): number {
    const slot = namespace === DEFAULT_NAMESPACE ? this.defaultKeys.get(key) : this.byNamespace.get(namespace)?.get(key)
    return slot === undefined ? NONE : slot
  }

  private keysOf(namespace: string, create: boolean): Map<string, number> | undefined {
    if (namespace === DEFAULT_NAMESPACE) return this.defaultKeys
    let keys = this.byNamespace.get(namespace)
    if (!keys && create) this.byNamespace.set(namespace, (keys = new Map()))
    return keys
  }

  /** Reserves a slot for a new entry; the caller fills its fields and calls `attach()`. */
  allocate(namespace: string, key: string): number {
    let slot = this.freeSlots.pop()
    if (slot === undefined) {
      if (this.size + this.freeSlots.length >= this.capacity) this.grow()
      slot = this.size + this.freeSlots.length
    }
    this.keysOf(namespace, true)!.set(key, slot)
    this.keys[slot] = key
    this.namespaces[slot] = namespace
    this.gen[slot] = (this.gen[slot]! + 1) >>> 0
    this.size++
    return slot
  }

  /** Links a filled slot into its tier's recency list and the counters (tier must be set). */
  attach(slot: number): void {
    const tier = this.tier[slot]!
    const size = this.sizeBytes[slot]!
    this.tierCount[tier]!++
    this.tierBytes[tier]! += size
    this.typeNames.acquire(this.type[slot]!)
    if (tier !== COLD && this.flags[slot]! & DURABLE) this.warmStoredBytes += size
    if (this.archived[slot]) {
      this.archivedCount++
      this.archivedBytes += size
    }
    const layer = this.layer[slot]!
    this.layerCount[layer] = (this.layerCount[layer] ?? 0) + 1
    this.layerBytes[layer] = (this.layerBytes[layer] ?? 0) + size
    this.layerMembers[layer]?.add(slot)
    this.linkTail(slot, tier)
    const expiresAt = this.expiresAt[slot]!
    if (expiresAt !== Number.POSITIVE_INFINITY) {
      this.expiringCount++
      this.expiry.push(expiresAt, slot, this.gen[slot]!)
      if (this.expiry.size > 2 * this.expiringCount + 1024) this.rebuildExpiry()
    }
  }

  /** Unlinks a slot from its list and the counters; its fields stay for the caller to change. */
  detach(slot: number): void {
    const tier = this.tier[slot]!
    const size = this.sizeBytes[slot]!
    this.tierCount[tier]!--
    this.tierBytes[tier]! -= size
    this.typeNames.release(this.type[slot]!)
    if (tier !== COLD && this.flags[slot]! & DURABLE) this.warmStoredBytes -= size
    if (this.archived[slot]) {
      this.archivedCount--
      this.archivedBytes -= size
    }
    const layer = this.layer[slot]!
    this.layerCount[layer]!--
    this.layerBytes[layer]! -= size
    this.layerMembers[layer]?.delete(slot)
    this.unlink(slot, tier)
    if (this.expiresAt[slot]! !== Number.POSITIVE_INFINITY) this.expiringCount--
    // A later attach pushes a fresh expiry triple; bumping gen makes the old one stale.
    this.gen[slot] = (this.gen[slot]! + 1) >>> 0
  }

  /**
   * Where an entry's warm value is: alone (page 0) or at an offset in a page. Every change of
   * place goes through here or clearLocation, so the page table's counts stay exact: a page is
   * deleted only when no entry names it. Call with the slot's final sizeBytes.
   */
  setLocation(slot: number, page: number, offset: number): void {
    this.clearLocation(slot)
    if (page === 0) return
    this.page[slot] = page
    this.pageOffset[slot] = offset
    this.pages.place(page, this.sizeBytes[slot]!)
  }

  /** The entry's value no longer lives in a page (moved, replaced or removed). Call before sizeBytes changes. */
  clearLocation(slot: number): void {
    const page = this.page[slot]!
    if (page === 0) return
    this.pages.release(page, this.sizeBytes[slot]!)
    this.page[slot] = 0
    this.pageOffset[slot] = 0
  }

  /** Removes an attached entry for good and frees its slot. */
  remove(slot: number): void {
    this.detach(slot)
    this.clearLocation(slot)
    const namespace = this.namespaces[slot]!
    const keys = this.keysOf(namespace, false)!
    keys.delete(this.keys[slot]!)
    if (keys.size === 0 && namespace !== DEFAULT_NAMESPACE) this.byNamespace.delete(namespace)
    this.keys[slot] = undefined
    this.namespaces[slot] = undefined
    this.taskIds.delete(slot)
    this.hotValues[slot] = undefined
    this.tags.delete(slot)
    this.tier[slot] = FREE
    this.flags[slot] = 0
    this.archived[slot] = 0
    this.size--
    this.freeSlots.push(slot)
  }

  /** Records an access: statistics and recency-list position. No allocation. */
  touch(slot: number, now: number): void {
    this.lastAccessedAt[slot] = now
    this.accessCount[slot]!++
    this.flags[slot]! |= STATS_DIRTY
    const tier = this.tier[slot]!
    if (this.tails[tier] !== slot) {
      this.unlink(slot, tier)
      this.linkTail(slot, tier)
    }
  }

  isLive(slot: number, gen: number): boolean {
    return this.tier[slot] !== FREE && this.gen[slot] === gen
  }

  /**
   * Live slots in slot order, those live when the walk reaches them. An iterator of its own, not
   * a generator: each step of a generator allocated its result (~40 bytes), 2.4 MB a walk over a
   * 60k-entry registry, and opening one walks it six times (measured in Node).
   */
  slots(): IterableIterator<number> {
    return new LiveSlots(this, this.size + this.freeSlots.length)
  }

  /** Slots of one tier from least to most recently used. Safe against removal of the current slot. An iterator of its own, as slots() is. */
  byRecency(tier: number): IterableIterator<number> {
    return new RecencyWalk(this, this.heads[tier]!)
  }

  layerId(name: string): number {
    return this.layerNames.id(name)
  }

  /** Starts (or stops) keeping the member set of a layer. Starting scans once. */
  trackLayer(layer: number, tracked: boolean): void {
    if (!tracked) {
      this.layerMembers[layer] = undefined
      return
    }
    if (this.layerMembers[layer]) return
    const members = new Set<number>()
    for (const slot of this.slots()) if (this.layer[slot] === layer) members.add(slot)
    this.layerMembers[layer] = members
  }

  private linkTail(slot: number, tier: number): void {
    const tail = this.tails[tier]!
    this.prev[slot] = tail
    this.next[slot] = NONE
    if (tail === NONE) this.heads[tier] = slot
    else this.next[tail] = slot
    this.tails[tier] = slot
  }

  private unlink(slot: number, tier: number): void {
    const before = this.prev[slot]!
    const after = this.next[slot]!
    if (before === NONE) this.heads[tier] = after
    else this.next[before] = after
    if (after === NONE) this.tails[tier] = before
    else this.prev[after] = before
  }

  private rebuildExpiry(): void {
    this.expiry.clear()
    for (const slot of this.slots()) {
      const expiresAt = this.expiresAt[slot]!
      if (expiresAt !== Number.POSITIVE_INFINITY) this.expiry.push(expiresAt, slot, this.gen[slot]!)
    }
  }

  private grow(): void {
    const capacity = this.capacity * 2
    const grown = <T extends GrowableArray>(array: T): T => grownArray(array, capacity)
    this.type = grown(this.type)
    this.layer = grown(this.layer)
    this.tier = grown(this.tier)
    this.tier.fill(FREE, this.capacity)
    this.flags = grown(this.flags)
    this.importance = grown(this.importance)
    this.relevance = grown(this.relevance)
    this.createdAt = grown(this.createdAt)
    this.lastAccessedAt = grown(this.lastAccessedAt)
    this.expiresAt = grown(this.expiresAt)
    this.ttlMs = grown(this.ttlMs)
    this.accessCount = grown(this.accessCount)
    this.sizeBytes = grown(this.sizeBytes)
    this.refCount = grown(this.refCount)
    this.archived = grown(this.archived)
    this.hashHi = grown(this.hashHi)
    this.hashLo = grown(this.hashLo)
    this.page = grown(this.page)
    this.pageOffset = grown(this.pageOffset)
    this.gen = grown(this.gen)
    this.prev = grown(this.prev)
    this.next = grown(this.next)
    this.capacity = capacity
  }
}

/** Registry.slots(): one result object for the whole walk (for-of and spread read each result before the next step). */
class LiveSlots implements IterableIterator<number> {
  private slot = -1
  private readonly result = { value: 0, done: false }

  constructor(
    private readonly reg: Registry,
    private readonly end: number,
  ) {}

  next(): IteratorResult<number> {
    // The registry's arrays, read at each step: a walk's body may grow them.
    const { tier } = this.reg
    const end = this.end
    for (let slot = this.slot + 1; slot < end; slot++) {
      if (tier[slot] !== FREE) {
        this.slot = slot
        this.result.value = slot
        return this.result
      }
    }
    this.slot = end
    this.result.done = true
    return this.result
  }

  [Symbol.iterator](): IterableIterator<number> {
    return this
  }
}

/** Registry.byRecency(): the slot after each is read before the walk's body runs (the body may unlink it). */
class RecencyWalk implements IterableIterator<number> {
  private readonly result = { value: 0, done: false }

  constructor(
    private readonly reg: Registry,
    private following: number,
  ) {}

  next(): IteratorResult<number> {
    const slot = this.following
    if (slot === NONE) {
      this.result.done = true
      return this.result
    }
    this.following = this.reg.next[slot]!
    this.result.value = slot
    return this.result
  }

  [Symbol.iterator](): IterableIterator<number> {
    return this
  }
}

import type { BatchOptions, CallOptions, Store, StoreOp } from '../store/store.ts'
import type { RecordFiles } from '../store/record-file.ts'
import type { Deflater } from '../store/deflater.ts'
import type { Inflater } from '../store/inflater.ts'
import { storeKeyOf } from '../registry/entry-record.ts'
import type { EventBus } from '../api/event-bus.ts'
import type { ChangeFeed } from './change-feed.ts'
import type { IntegrityState } from '../persistence/integrity-state.ts'
import type { JournalState } from '../persistence/journal-state.ts'
import type { Metrics } from '../pressure/metrics.ts'
import { HOT, type Registry } from '../registry/registry.ts'
import type { ScopeState } from '../lifecycle/scope-state.ts'
import type { EmbeddingCacheStats, Clock, LifecyclePolicy, PressureLevel, PressurePolicy, PressureSignal, Tier } from '../api/types.ts'
import type { EngineTimers } from './scheduler.ts'
import type { WriteLane } from './write-lane.ts'

/** An extra pressure signal from outside the engine (heap, storage quota): issue #4 feeds these. */
export interface ExternalSignal extends PressureSignal {
  /** memory is relieved by demotion, storage by gc, compression and (at emergency) eviction. */
  resource: 'memory' | 'storage'
}

/** Everything the engine modules share. Only lane tasks change the registry's structure. */
/** The embedding cache as the engine sees it (embeddings/embedding-cache.ts). */
export interface EngineEmbeddings {
  /** The embedder's vector length. */
  readonly dims: number
  /** The embedder's id (model, weights, pooling): which vectors are its. */
  readonly embedderId: string
  embed(texts: string[]): Promise<Float32Array[]>
  stats(): EmbeddingCacheStats
  close(): void
}

export interface EngineContext {
  readonly reg: Registry
  readonly warm: Store
  readonly cold: Store
  readonly clock: Clock
  /** Every timer the engine sets, on the injected scheduler; close() cancels them all. */
  readonly timers: EngineTimers
  readonly lane: WriteLane
  readonly events: EventBus
  /** Every committed change to an entry, numbered (the public events subscribe to it). */
  readonly feed: ChangeFeed
  readonly metrics: Metrics
  policy: LifecyclePolicy
  pressurePolicy: PressurePolicy
  budgets: Record<Tier, number>
  level: PressureLevel
  closed: boolean
  /** Slots that were reference-counted and are held by nobody now. */
  readonly orphans: Set<number>
  /** Slots whose accessCount passed their layer's promotion minimum. */
  readonly promotionCandidates: Set<number>
  /**
   * Per layer id, the access count at which an entry becomes a promotion candidate: the first
   * whole count over promotion.minAccesses (Infinity where the layer does not promote).
   */
  promotionTrigger: number[]
  readonly scopes: Map<string, ScopeState>
  readonly externalSignals: Map<string, ExternalSignal>
  /**
   * Bytes the engine holds in memory outside the registry's hot entries (the vector index's
   * graph): counted in the hot budget, so a growing index pushes entries out of hot (see hotUsage).
   */
  heldBytes: number
  /**
   * How pressure relieves what heldBytes counts (the vector index, once it exists): `relieve`
   * pages out that many bytes where it can; `room` lets it take that many back as it is used.
   */
  heldRelief?: { relieve(bytes: number): Promise<void>; room(bytes: number): void }
  /** Wakes openScope calls waiting for critical pressure to pass. */
  readonly levelWaiters: Set<() => void>
  /**
   * Store keys with a write queued but not yet landed, and the lane ticket of the latest such
   * write. Reads of those keys run after it (see read-order.ts).
   */
  readonly pendingWrites: Map<string, number>
  /** Lane tickets of user-issued writes: the last one, and the last whose keys are not known (gc, clear, scope close, configure). */
  readonly writeTickets: { last: number; global: number }
  /** Set when close() is called: calls issued after it are refused with CLOSED. */
  closing: boolean
  /** Where the registry journal stands (see journal.ts). */
  journal: JournalState
  /** Batches written to the cold store so far: cached cold stats are valid only for one count. */
  coldWrites: number
  /** The first cleanup of a capacity layer raised its alert (once per open memory). */
  cleanupAlerted: boolean
  /** Damaged stored records found so far (see integrity.ts). */
  readonly integrity: IntegrityState
  /** The embedder and its cache, where the memory was opened with one. */
  embeddings?: EngineEmbeddings
  /** Files of fixed-width records beside the stores, where the platform has them (vector copies, restore spools). */
  readonly records?: RecordFiles
  /** Deflate off the engine's thread, where the platform has it (backups' record files). */
  readonly deflate?: Deflater
  /** Inflate off the engine's thread, where the platform has it (restores' record files). */
  readonly inflate?: Inflater
}

export function storeKey(ctx: EngineContext, slot: number): string {
  return storeKeyOf(ctx.reg.namespaces[slot]!, ctx.reg.keys[slot]!)
}

/** Applies ops in chunks the store accepts. Each chunk is atomic where the store is. */
export async function commit(store: Store, ops: readonly StoreOp[], options?: BatchOptions): Promise<void> {
  const size = store.capabilities.maxBatchSize
  if (ops.length <= size) {
    if (ops.length > 0) await (options ? store.batch(ops, options) : store.batch(ops))
    return
  }
  for (let i = 0; i < ops.length; i += size) await (options ? store.batch(ops.slice(i, i + size), options) : store.batch(ops.slice(i, i + size)))
}

/** Reads values in chunks the store accepts. `background`: for housekeeping (CallOptions). */
export async function getMany(store: Store, keys: readonly string[], background = false): Promise<(Uint8Array | undefined)[]> {
  const size = store.capabilities.maxBatchSize
  const read = (part: readonly string[]) => (background ? store.getMany('values', part, BACKGROUND) : store.getMany('values', part))
  if (keys.length <= size) return keys.length === 0 ? [] : read(keys)
  const out: (Uint8Array | undefined)[] = []
  for (let i = 0; i < keys.length; i += size) out.push(...(await read(keys.slice(i, i + size))))
  return out
}

const BACKGROUND: CallOptions = Object.freeze({ background: true })

/** Reports a background failure (the caller's promise has already resolved): an alert, never silence. */
export function reportBackgroundError(ctx: EngineContext, name: string, error: unknown): void {
  ctx.metrics.errors++
  ctx.events.emit('alert', {
    name,
    severity: 'warning',
    detail: error instanceof Error ? { message: error.message, code: (error as { code?: string }).code } : error,
  })
}

/** What the hot budget holds: hot entries' bytes and what the engine holds beside them (heldBytes). */
export function hotUsage(ctx: EngineContext): number {
  return ctx.reg.tierBytes[HOT]! + ctx.heldBytes
}

import { memoryStore } from '../store/memory-store.ts'
import type { ScanOptions, Store, StoreSpace } from '../store/store.ts'
import type { EngineContext } from '../engine/engine-context.ts'
import { EngineTimers, PLATFORM_SCHEDULER } from '../engine/scheduler.ts'
import { newJournalState } from '../persistence/journal-state.ts'
import { newIntegrityState } from '../persistence/integrity-state.ts'
import { TiermemError } from './errors.ts'
import { emitEventsOf, EventBus } from './event-bus.ts'
import { ChangeFeed } from '../engine/change-feed.ts'
import { syncLayerIndexes } from '../lifecycle/layer-rules.ts'
import { elapsedNow, Metrics } from '../pressure/metrics.ts'
import { loadRegistry, sweepCold } from '../persistence/load.ts'
import { checkIncarnation } from '../persistence/incarnation.ts'
import { checkAutoBackup, Snapshots } from '../backup/snapshots.ts'
import { checkBudget, DEFAULT_BUDGETS, defaultLifecyclePolicy, defaultPressurePolicy, mergeLifecyclePolicy, mergePressurePolicy } from '../lifecycle/policy.ts'
import { evaluatePressure } from '../pressure/pressure-controller.ts'
import { Registry } from '../registry/registry.ts'
import { releaseAbandonedScopes } from '../lifecycle/task-scope.ts'
import type { LifecyclePolicy, Memory, MemoryOptions } from './types.ts'
import { WriteLane } from '../engine/write-lane.ts'
import { buildMemory } from './memory.ts'
import { EMBEDDING_LAYER, EmbeddingCache } from '../embeddings/embedding-cache.ts'
import { checkEmbeddingOptions } from '../embeddings/embedding-options.ts'
import { entryVectors } from '../embeddings/entry-vectors.ts'
import { openVectorIndex } from '../recall/vector-index.ts'

const DEFAULT_MAINTENANCE_MS = 60_000

/**
 * Creates the tier engine in-process: the `Memory` of API.md over a warm and a cold store
 * (both in memory by default). The browser entry runs this same engine inside a worker.
 */
export async function createMemory(options: MemoryOptions = {}): Promise<Memory> {
  if (typeof options !== 'object' || options === null) throw new TiermemError('INVALID_OPTION', 'createMemory options must be an object')
  const warm = options.stores?.warm ?? memoryStore()
  const givenCold = options.stores?.cold ?? memoryStore()
  if (warm === givenCold) throw new TiermemError('INVALID_OPTION', 'stores.warm and stores.cold must be different stores')
  // Count cold writes: cached cold stats (some stores walk their records to measure) expire with them.
  const cold: Store = {
    backend: givenCold.backend,
    capabilities: givenCold.capabilities,
    getMany: (space, keys, callOptions) => (callOptions ? givenCold.getMany(space, keys, callOptions) : givenCold.getMany(space, keys)),
    batch: (ops, batchOptions) => {
      ctx.coldWrites++
      return batchOptions ? givenCold.batch(ops, batchOptions) : givenCold.batch(ops)
    },
    scan: (space, scan) => givenCold.scan(space, scan),
    ...(givenCold.keys ? { keys: (space: StoreSpace, scan?: ScanOptions) => givenCold.keys!(space, scan) } : {}),
    ...(givenCold.storedSizes ? { storedSizes: (space: StoreSpace, keys: readonly string[]) => givenCold.storedSizes!(space, keys) } : {}),
    stats: () => givenCold.stats(),
    close: () => givenCold.close(),
  }
  if (!warm.capabilities.atomicBatch) {
    throw new TiermemError('INVALID_OPTION', `the warm store (${warm.backend}) must commit batches atomically: tier flips depend on it`)
  }
  const clock = options.clock ?? { now: () => Date.now() }
  if (typeof clock.now !== 'function') throw new TiermemError('INVALID_OPTION', 'clock must have a now() method')
  const maintenanceMs = checkBudget('maintenanceIntervalMs', options.maintenanceIntervalMs ?? DEFAULT_MAINTENANCE_MS)
  if (options.backup !== undefined && (typeof options.backup !== 'object' || options.backup === null))
    throw new TiermemError('INVALID_OPTION', 'backup takes { auto }')
  const autoBackup = checkAutoBackup(options.backup?.auto)
  const embeddings = checkEmbeddingOptions(options.embeddings)
  const scheduler = options.scheduler ?? PLATFORM_SCHEDULER
  if (typeof scheduler?.setTimeout !== 'function' || typeof scheduler.clearTimeout !== 'function') {
    throw new TiermemError('INVALID_OPTION', 'scheduler must have setTimeout(fn, ms) and clearTimeout(handle)')
  }
  const ctx: EngineContext = {
    reg: new Registry(),
    warm,
    cold,
    clock,
    timers: new EngineTimers(scheduler),
    lane: new WriteLane(),
    events: new EventBus(),
    feed: new ChangeFeed(),
    metrics: new Metrics(),
    policy: withEmbeddingLayer(mergeLifecyclePolicy(defaultLifecyclePolicy(), options.policy)),
    pressurePolicy: mergePressurePolicy(defaultPressurePolicy(), options.pressure),
    budgets: {
      hot: checkBudget('hot.maxBytes', options.hot?.maxBytes ?? DEFAULT_BUDGETS.hot),
      warm: checkBudget('warm.maxBytes', options.warm?.maxBytes ?? DEFAULT_BUDGETS.warm),
      cold: checkBudget('cold.maxBytes', options.cold?.maxBytes ?? DEFAULT_BUDGETS.cold),
    },
    level: 'normal',
    closed: false,
    orphans: new Set(),
    promotionCandidates: new Set(),
    promotionTrigger: [],
    scopes: new Map(),
    externalSignals: new Map(),
    heldBytes: 0,
    levelWaiters: new Set(),
    pendingWrites: new Map(),
    writeTickets: { last: 0, global: 0 },
    closing: false,
    journal: newJournalState(),
    coldWrites: 0,
    cleanupAlerted: false,
    integrity: newIntegrityState(),
    ...(options.stores?.records ? { records: options.stores.records } : {}),
    ...(options.stores?.deflate ? { deflate: options.stores.deflate } : {}),
    ...(options.stores?.inflate ? { inflate: options.stores.inflate } : {}),
  }
  emitEventsOf(ctx.feed, ctx.events)
  ctx.metrics.enabled = options.metrics ?? true
  ctx.metrics.closeWindow(elapsedNow())
  if (options.signals !== undefined && !Array.isArray(options.signals))
    throw new TiermemError('INVALID_OPTION', 'signals must be an array of { source, resource, sample() }')
  for (const signal of options.signals ?? []) {
    if (typeof signal?.source !== 'string' || typeof signal.sample !== 'function' || (signal.resource !== 'memory' && signal.resource !== 'storage')) {
      throw new TiermemError('INVALID_OPTION', 'each signal needs a source name, a resource (memory or storage) and a sample() function')
    }
  }
  await loadRegistry(ctx)
  if (options.witness !== undefined && (typeof options.witness?.read !== 'function' || typeof options.witness.write !== 'function')) {
    throw new TiermemError('INVALID_OPTION', 'witness must have read() and write(record) methods')
  }
  await checkIncarnation(ctx, options.witness)
  await sweepCold(ctx)
  syncLayerIndexes(ctx)
  await releaseAbandonedScopes(ctx)
  if (embeddings?.embedder) ctx.embeddings = new EmbeddingCache(ctx, embeddings.embedder, embeddings.cache)
  entryVectors(ctx)
  await openVectorIndex(ctx, embeddings?.index, options.stores?.records)
  evaluatePressure(ctx)
  return buildMemory(ctx, maintenanceMs, options.signals ?? [], options.witness, new Snapshots(ctx, autoBackup))
}

/** The embedding cache's own layer, always present so its entries have a policy with or without an embedder: kept until the cache trims them. */
function withEmbeddingLayer(policy: LifecyclePolicy): LifecyclePolicy {
  return { ...policy, layers: { ...policy.layers, [EMBEDDING_LAYER]: { eviction: 'lru_with_importance' } } }
}

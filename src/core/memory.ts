import { memoryStore } from '../stores/memory-store.ts'
import type { ScanOptions, Store, StoreSpace } from '../stores/store.ts'
import { copyBytes } from './codec.ts'
import { reportBackgroundError, type EngineContext } from './engine-context.ts'
import { readRecord, storeKeyOf, toEntryInfo } from './entry-record.ts'
import { commitChanges, maybeCheckpoint, newJournalState } from './journal.ts'
import { TiermemError } from './errors.ts'
import { EventBus, checkSubscription } from './event-bus.ts'
import { runGc } from './gc.ts'
import { applyLayerRules, syncLayerIndexes } from './layer-rules.ts'
import { elapsedNow, Metrics } from './metrics.ts'
import { checkQueryFilter, queryEntries } from './query.ts'
import { cachedColdStats, collectStats } from './stats.ts'
import { loadRegistry, persistStats, sweepCold } from './persistence.ts'
import {
  checkBudget, DEFAULT_BUDGETS, defaultLifecyclePolicy, defaultPressurePolicy, mergeLifecyclePolicy, mergePressurePolicy,
} from './policy.ts'
import { evaluatePressure, pressureReport, schedulePressureActions } from './pressure-controller.ts'
import { checkHealthAlert, monitorRound } from './monitor.ts'
import { enqueuePutItems, enqueuePuts, preparePut, type PreparedPut } from './put-pipeline.ts'
import { ENGINE_INTERNALS, EncodedValue, type EngineInternals } from './internals.ts'
import { checkMetadataIntact, clearDamage, integrityAlerts, newIntegrityState, verifyContent } from './integrity.ts'
import { lookup, readMany, readOne } from './read-path.ts'
import { anyWritePending, inIssueOrder, keyWritePending, noteGlobalWrite, noteKeyWrites } from './read-order.ts'
import { COLD, DURABLE, HOT, REFERENCED, Registry, TIER_NAMES, WARM } from './registry.ts'
import { removeEntries } from './removal.ts'
import { openTaskScope } from './scope-api.ts'
import { releaseAbandonedScopes } from './task-scope.ts'
import { demoteHotToWarm, enforceHotBudget, moveFromCold, moveToCold, promoteWarmToHot } from './tier-moves.ts'
import type {
  EntryInfo, Memory, MemoryEvents, MemoryOptions, MemoryStats, NamespaceOption, PressureReport, PutOptions, QueryFilter, RuntimeOptions, SignalSource, Tier,
} from './types.ts'
import { checkKey, checkNamespace } from './validate.ts'
import { isWellFormed } from './storable.ts'
import { WriteLane } from './write-lane.ts'
import { readWarm } from './warm-values.ts'

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
    getMany: (space, keys) => givenCold.getMany(space, keys),
    batch: (ops) => {
      ctx.coldWrites++
      return givenCold.batch(ops)
    },
    scan: (space, scan) => givenCold.scan(space, scan),
    ...(givenCold.keys ? { keys: (space: StoreSpace, scan?: ScanOptions) => givenCold.keys!(space, scan) } : {}),
    stats: () => givenCold.stats(),
    close: () => givenCold.close(),
  }
  if (!warm.capabilities.atomicBatch) {
    throw new TiermemError('INVALID_OPTION', `the warm store (${warm.backend}) must commit batches atomically: tier flips depend on it`)
  }
  const clock = options.clock ?? { now: () => Date.now() }
  if (typeof clock.now !== 'function') throw new TiermemError('INVALID_OPTION', 'clock must have a now() method')
  const maintenanceMs = checkBudget('maintenanceIntervalMs', options.maintenanceIntervalMs ?? DEFAULT_MAINTENANCE_MS)
  const ctx: EngineContext = {
    reg: new Registry(),
    warm,
    cold,
    clock,
    lane: new WriteLane(),
    events: new EventBus(),
    metrics: new Metrics(),
    policy: mergeLifecyclePolicy(defaultLifecyclePolicy(), options.policy),
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
    levelWaiters: new Set(),
    pendingWrites: new Map(),
    writeTickets: { last: 0, global: 0 },
    closing: false,
    journal: newJournalState(),
    coldWrites: 0,
    cleanupAlerted: false,
    integrity: newIntegrityState(),
  }
  ctx.metrics.enabled = options.metrics ?? true
  ctx.metrics.closeWindow(elapsedNow())
  if (options.signals !== undefined && !Array.isArray(options.signals)) throw new TiermemError('INVALID_OPTION', 'signals must be an array of { source, resource, sample() }')
  for (const signal of options.signals ?? []) {
    if (typeof signal?.source !== 'string' || typeof signal.sample !== 'function' || (signal.resource !== 'memory' && signal.resource !== 'storage')) {
      throw new TiermemError('INVALID_OPTION', 'each signal needs a source name, a resource (memory or storage) and a sample() function')
    }
  }
  await loadRegistry(ctx)
  await sweepCold(ctx)
  syncLayerIndexes(ctx)
  await releaseAbandonedScopes(ctx)
  evaluatePressure(ctx)
  return buildMemory(ctx, maintenanceMs, options.signals ?? [])
}

function buildMemory(ctx: EngineContext, maintenanceMs: number, sources: readonly SignalSource[]): Memory {
  const { reg, lane } = ctx
  const openAlerts = integrityAlerts(ctx)
  let closed: Promise<void> | undefined
  const timers: Array<ReturnType<typeof setInterval>> = []

  const closedError = () => new TiermemError('CLOSED', 'this memory is closed; open it again to use it')
  /**
   * Runs a user's write on the lane in issue order, after the closed check, with pressure
   * re-evaluated after it. `keys`: the store keys it may change, so reads of them wait for it;
   * 'all' where they are not known in advance; 'none' for housekeeping (gc, configure): what it
   * evicts is policy at work, which reads do not wait for (read-order.ts).
   */
  const mutate = <T>(keys: readonly string[] | 'all' | 'none', task: () => Promise<T> | T): Promise<T> => {
    if (ctx.closing) return Promise.reject(closedError())
    const result = lane.run(async () => {
      const value = await task()
      evaluatePressure(ctx)
      return value
    })
    if (keys === 'all') noteGlobalWrite(ctx, lane.issued)
    else if (keys !== 'none') noteKeyWrites(ctx, keys, lane.issued, result)
    return result
  }
  /** A write of one entry: the key is checked now, the entry is found on the lane. */
  const mutateEntry = <T>(key: unknown, options: NamespaceOption | undefined, task: (slot: number) => Promise<T> | T): Promise<T> => {
    try {
      checkKey(key)
      const namespace = checkNamespace(options?.namespace)
      return mutate([storeKeyOf(namespace, key)], () => {
        const slot = reg.find(namespace, key)
        if (slot < 0) throw new TiermemError('NOT_FOUND', `no entry '${key}' in namespace '${namespace}'`)
        return task(slot)
      })
    } catch (error) {
      return Promise.reject(error)
    }
  }
  /** A read of one entry's metadata, in issue order. */
  const readEntry = <T>(key: unknown, options: NamespaceOption | undefined, read: (namespace: string, key: string) => T): Promise<T> => {
    if (ctx.closing) return Promise.reject(closedError())
    try {
      checkKey(key)
      const namespace = checkNamespace(options?.namespace)
      return inIssueOrder(ctx, keyWritePending(ctx, storeKeyOf(namespace, key)), () => read(namespace, key))
    } catch (error) {
      return Promise.reject(error)
    }
  }
  /** Commits a new refCount for an entry, then applies it (durable entries journal it first). */
  const setRefCount = async (slot: number, refCount: number) => {
    const flags = refCount > 0 ? reg.flags[slot]! | REFERENCED : reg.flags[slot]!
    const apply = () => {
      reg.refCount[slot] = refCount
      reg.flags[slot] = flags
      if (refCount > 0) ctx.orphans.delete(slot)
      else ctx.orphans.add(slot)
    }
    if (!(reg.flags[slot]! & DURABLE)) return apply()
    const record = readRecord(reg, slot)
    record.refCount = refCount
    record.flags = flags
    await commitChanges(ctx, [{ entry: record, apply }])
  }
  /** putMany and the worker's encoded putMany: prepare every item (any bad one fails the call), then one batch. */
  const putAll = (count: number, prepareEach: () => PreparedPut[]): Promise<EntryInfo[]> => {
    if (ctx.closing) return Promise.reject(closedError())
    try {
      const prepared = prepareEach()
      return count === 0 ? Promise.resolve([]) : enqueuePuts(ctx, prepared)
    } catch (error) {
      return Promise.reject(error)
    }
  }
  const background = (name: string, task: () => Promise<unknown>) => {
    if (ctx.closing) return
    lane.run(task).then(
      () => evaluatePressure(ctx),
      (error: unknown) => reportBackgroundError(ctx, name, error),
    )
  }

  if (maintenanceMs > 0) {
    timers.push(setInterval(() => background('maintenance-failed', async () => {
      await runGc(ctx)
      await persistStats(ctx)
      await maybeCheckpoint(ctx)
    }), maintenanceMs))
  }
  const healthState = { alerted: 'none' as 'none' | 'warning' | 'critical' }
  const monitor = async (): Promise<PressureReport> => {
    const report = await monitorRound(ctx, sources)
    const coldStats = await cachedColdStats(ctx)
    checkHealthAlert(ctx, healthState, {
      latency: ctx.metrics.latencySummary(), hitRate: ctx.metrics.hitRate(), reads: ctx.metrics.gets(), pressure: report, coldDeadRatio: coldStats.deadRatio,
    })
    return report
  }
  if (ctx.pressurePolicy.checkIntervalMs > 0) {
    timers.push(setInterval(() => {
      if (!ctx.closing) monitor().catch((error: unknown) => reportBackgroundError(ctx, 'monitor-failed', error))
    }, ctx.pressurePolicy.checkIntervalMs))
  }
  // Node keeps a process alive for intervals; background upkeep must not.
  for (const timer of timers) (timer as { unref?: () => void }).unref?.()

  const memory: Memory = {
    put(key: string, value: unknown, options?: PutOptions): Promise<EntryInfo> {
      if (ctx.closing) return Promise.reject(closedError())
      try {
        return enqueuePuts(ctx, [preparePut(ctx, key, value, options)]).then((infos) => infos[0]!)
      } catch (error) {
        return Promise.reject(error)
      }
    },

    putMany(items) {
      return putAll(Array.isArray(items) ? items.length : 0, () => {
        if (!Array.isArray(items)) throw new TiermemError('INVALID_OPTION', 'putMany takes an array of { key, value, ...options }')
        return items.map((item) => {
          if (typeof item !== 'object' || item === null) throw new TiermemError('INVALID_OPTION', 'putMany items are objects { key, value, ...options }')
          const { key, value, ...options } = item
          return preparePut(ctx, key, value, options)
        })
      })
    },

    get<T>(key: string, options?: NamespaceOption): Promise<T | undefined> {
      if (ctx.closing) return Promise.reject(closedError())
      if (typeof key !== 'string' || key.length === 0 || key.length > 1024 || options !== undefined || !isWellFormed(key)) {
        try {
          checkKey(key)
          return readOne(ctx, checkNamespace(options?.namespace), key) as Promise<T | undefined>
        } catch (error) {
          return Promise.reject(error)
        }
      }
      return readOne(ctx, 'default', key) as Promise<T | undefined>
    },

    async getMany<T>(keys: string[], options?: NamespaceOption): Promise<(T | undefined)[]> {
      if (ctx.closing) throw closedError()
      if (!Array.isArray(keys)) throw new TiermemError('INVALID_KEY', 'getMany takes an array of keys')
      keys.forEach(checkKey)
      return readMany(ctx, checkNamespace(options?.namespace), keys) as Promise<(T | undefined)[]>
    },

    getEntry(key, options) {
      return readEntry(key, options, (namespace, k) => {
        const slot = lookup(ctx, namespace, k, ctx.clock.now())
        if (slot < 0) checkMetadataIntact(ctx, storeKeyOf(namespace, k), k)
        return slot < 0 ? undefined : toEntryInfo(reg, slot)
      })
    },

    has(key, options) {
      return readEntry(key, options, (namespace, k) => {
        const slot = lookup(ctx, namespace, k, ctx.clock.now())
        if (slot < 0) checkMetadataIntact(ctx, storeKeyOf(namespace, k), k)
        return slot >= 0
      })
    },

    delete(key, options) {
      try {
        checkKey(key)
        const namespace = checkNamespace(options?.namespace)
        const storeKey = storeKeyOf(namespace, key)
        return mutate([storeKey], async () => {
          const slot = reg.find(namespace, key)
          if (slot < 0) {
            // An entry whose metadata was damaged is gone from the registry; deleting it ends the report.
            const damaged = ctx.integrity.lostMetadata.has(storeKey)
            clearDamage(ctx, storeKey)
            return damaged
          }
          await removeEntries(ctx, [slot], 'manual')
          return true
        })
      } catch (error) {
        return Promise.reject(error)
      }
    },

    query(filter: QueryFilter = {}) {
      if (ctx.closing) return Promise.reject(closedError())
      try {
        checkQueryFilter(filter)
      } catch (error) {
        return Promise.reject(error)
      }
      return inIssueOrder(ctx, anyWritePending(ctx), () => queryEntries(ctx, filter))
    },

    openScope(taskId, options) {
      if (ctx.closing) return Promise.reject(closedError())
      return openTaskScope(ctx, taskId, options, memory)
    },

    retain(key, options) {
      return mutateEntry(key, options, async (slot) => {
        await setRefCount(slot, reg.refCount[slot]! + 1)
        return reg.refCount[slot]!
      })
    },

    release(key, options) {
      return mutateEntry(key, options, async (slot) => {
        if (reg.refCount[slot] === 0) {
          throw new TiermemError('NOT_HELD', `'${key}' is not held (refCount 0); release only what you retained`)
        }
        await setRefCount(slot, reg.refCount[slot]! - 1)
        return reg.refCount[slot]!
      })
    },

    evict(key, options) {
      return mutateEntry(key, options, async (slot) => {
        if (reg.refCount[slot]! > 0) {
          throw new TiermemError('REF_HELD', `'${key}' is held (refCount ${reg.refCount[slot]}); release it before evicting`)
        }
        await removeEntries(ctx, [slot], 'manual')
      })
    },

    promote(key, options) {
      return mutateEntry(key, options, async (slot): Promise<Tier> => {
        if (reg.tier[slot] === WARM) {
          const [bytes] = await readWarm(ctx, [slot], true)
          if (!bytes) throw new TiermemError('CORRUPT', `the warm value of '${key}' is missing`)
          verifyContent(ctx, slot, bytes)
          promoteWarmToHot(ctx, slot, bytes)
        } else if (reg.tier[slot] === COLD) {
          await moveFromCold(ctx, slot, false)
        }
        return TIER_NAMES[reg.tier[slot] as 0 | 1 | 2]
      })
    },

    demote(key, options) {
      return mutateEntry(key, options, async (slot): Promise<Tier> => {
        // A durable: false entry has no lower tier to go to; it stays hot.
        if (reg.tier[slot] === HOT && reg.flags[slot]! & DURABLE) demoteHotToWarm(ctx, slot)
        else if (reg.tier[slot] === WARM) await moveToCold(ctx, [slot])
        return TIER_NAMES[reg.tier[slot] as 0 | 1 | 2]
      })
    },

    gc() {
      return mutate('none', () => runGc(ctx))
    },

    stats(): Promise<MemoryStats> {
      if (ctx.closing) return Promise.reject(closedError())
      return inIssueOrder(ctx, anyWritePending(ctx), () => collectStats(ctx))
    },

    async checkPressure() {
      if (ctx.closing) throw closedError()
      await monitor()
      await lane.idle()
      return pressureReport(ctx)
    },

    configure(options: RuntimeOptions) {
      return mutate('none', async () => {
        if (typeof options !== 'object' || options === null) throw new TiermemError('INVALID_OPTION', 'configure takes an options object')
        // Validate everything before changing anything.
        const policy = mergeLifecyclePolicy(ctx.policy, options.policy)
        const pressurePolicy = mergePressurePolicy(ctx.pressurePolicy, options.pressure)
        const budgets = {
          hot: checkBudget('hot.maxBytes', options.hot?.maxBytes ?? ctx.budgets.hot),
          warm: checkBudget('warm.maxBytes', options.warm?.maxBytes ?? ctx.budgets.warm),
          cold: checkBudget('cold.maxBytes', options.cold?.maxBytes ?? ctx.budgets.cold),
        }
        if (options.metrics !== undefined && typeof options.metrics !== 'boolean') throw new TiermemError('INVALID_OPTION', 'metrics must be a boolean')
        ctx.policy = policy
        ctx.pressurePolicy = pressurePolicy
        ctx.budgets = budgets
        if (options.metrics !== undefined) ctx.metrics.enabled = options.metrics
        syncLayerIndexes(ctx)
        enforceHotBudget(ctx)
        await applyLayerRules(ctx, Object.keys(policy.layers).map((name) => reg.layerId(name)), new Set())
        if (evaluatePressure(ctx).level !== 'normal') schedulePressureActions(ctx)
      })
    },

    async on<E extends keyof MemoryEvents>(event: E, handler: (e: MemoryEvents[E]) => void) {
      if (ctx.closing) throw closedError()
      checkSubscription(event, handler)
      const off = ctx.events.on(event, handler)
      // Alerts raised while the memory opened (damaged records) came before anyone could listen:
      // each alert handler is given them once, right after it subscribes.
      if (event === 'alert' && openAlerts.length > 0) {
        const raised = [...openAlerts]
        queueMicrotask(() => raised.forEach((alert) => (handler as (e: MemoryEvents['alert']) => void)(alert)))
      }
      return off
    },

    async flush() {
      if (ctx.closing) throw closedError()
      await lane.run(() => persistStats(ctx))
      await lane.idle()
    },

    close() {
      // One close however often it is called: a second call resolves when the first has finished.
      closed ??= (async () => {
        ctx.closing = true
        for (const timer of timers) clearInterval(timer)
        await lane.idle()
        await lane.run(() => persistStats(ctx))
        ctx.closed = true
        for (const wake of [...ctx.levelWaiters]) wake()
        await Promise.all([ctx.warm.close(), ctx.cold.close()])
      })()
      return closed
    },
  }
  const internals: EngineInternals = {
    putEncoded(items) {
      return putAll(items.length, () => items.map(({ key, bytes, ...options }) => preparePut(ctx, key, undefined, options, undefined, bytes)))
    },
    putEncodedEach(items) {
      if (ctx.closing) return Promise.reject(closedError())
      const results: Array<Promise<EntryInfo>> = []
      const prepared: PreparedPut[] = []
      const slots: number[] = []
      items.forEach(({ key, bytes, ...options }, i) => {
        try {
          prepared.push(preparePut(ctx, key, undefined, options, undefined, bytes))
          slots.push(i)
        } catch (reason) {
          results[i] = Promise.reject(reason)
        }
      })
      enqueuePutItems(ctx, prepared).forEach((promise, j) => (results[slots[j]!] = promise))
      return Promise.allSettled(results)
    },
    reportSignal(signal) {
      if (signal.limit > 0) ctx.externalSignals.set(signal.source, { ...signal, ratio: signal.used / signal.limit })
      else ctx.externalSignals.delete(signal.source)
    },
    async getRaw(keys, options) {
      if (ctx.closing) throw closedError()
      keys.forEach(checkKey)
      // The bytes are copied: the engine may still use its own (to promote the entry).
      const raw = (bytes: Uint8Array) => new EncodedValue(copyBytes(bytes))
      const namespace = checkNamespace(options?.namespace)
      return keys.length === 1 ? [await readOne(ctx, namespace, keys[0]!, raw)] : readMany(ctx, namespace, keys, raw)
    },
  }
  Object.defineProperty(memory, ENGINE_INTERNALS, { value: internals, enumerable: false })
  return memory
}

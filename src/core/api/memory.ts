import { copyBytes } from '../persistence/codec.ts'
import type { EngineContext } from '../engine/engine-context.ts'
import { storeKeyOf, toEntryInfo } from '../registry/entry-record.ts'
import { TiermemError } from './errors.ts'
import { checkSubscription } from './event-bus.ts'
import { runGc } from '../lifecycle/gc.ts'
import { applyLayerRules, syncLayerIndexes } from '../lifecycle/layer-rules.ts'
import { checkQueryFilter, queryEntries } from './query.ts'
import { collectStats } from './stats.ts'
import { persistStats } from '../persistence/load.ts'
import { checkBudget, mergeLifecyclePolicy, mergePressurePolicy } from '../lifecycle/policy.ts'
import { evaluatePressure, pressureReport, schedulePressureActions } from '../pressure/pressure-controller.ts'
import { enqueuePutItems, enqueuePuts, preparePut, type PreparedPut } from '../engine/put-pipeline.ts'
import { ENGINE_INTERNALS, EncodedValue, type EngineInternals } from './internals.ts'
import { checkMetadataIntact, clearDamage, integrityAlerts, verifyContent } from '../persistence/integrity.ts'
import { lookup, readMany, readOne } from '../engine/read-path.ts'
import { anyWritePending, inIssueOrder } from '../engine/read-order.ts'
import { COLD, DURABLE, HOT, TIER_NAMES, WARM } from '../registry/registry.ts'
import { removeEntries } from '../engine/removal.ts'
import { openTaskScope } from './scope-api.ts'
import { demoteHotToWarm, enforceHotBudget, moveFromCold, moveToCold, promoteWarmToHot } from '../lifecycle/tier-moves.ts'
import type { EntryInfo, Memory, MemoryEvents, MemoryStats, NamespaceOption, PutOptions, QueryFilter, RuntimeOptions, SignalSource, Tier } from './types.ts'
import { checkKey, checkNamespace } from './validate.ts'
import { isWellFormed } from '../persistence/storable.ts'
import { readWarm } from '../persistence/warm-values.ts'
import { startBackground } from './background.ts'
import { closedError, mutate, mutateEntry, putAll, readEntry, setRefCount } from './calls.ts'

/**
 * The Memory of API.md over an engine context that is open and loaded (open-engine.ts). The
 * browser worker host serves this same object to the page.
 */
export function buildMemory(ctx: EngineContext, maintenanceMs: number, sources: readonly SignalSource[]): Memory {
  const { reg, lane } = ctx
  const openAlerts = integrityAlerts(ctx)
  let closed: Promise<void> | undefined
  const { monitor } = startBackground(ctx, maintenanceMs, sources)

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
      return putAll(ctx, Array.isArray(items) ? items.length : 0, () => {
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
      return readEntry(ctx, key, options, (namespace, k) => {
        const slot = lookup(ctx, namespace, k, ctx.clock.now())
        if (slot < 0) checkMetadataIntact(ctx, storeKeyOf(namespace, k), k)
        return slot < 0 ? undefined : toEntryInfo(reg, slot)
      })
    },

    has(key, options) {
      return readEntry(ctx, key, options, (namespace, k) => {
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
        return mutate(ctx, [storeKey], async () => {
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
      return mutateEntry(ctx, key, options, async (slot) => {
        await setRefCount(ctx, slot, reg.refCount[slot]! + 1)
        return reg.refCount[slot]!
      })
    },

    release(key, options) {
      return mutateEntry(ctx, key, options, async (slot) => {
        if (reg.refCount[slot] === 0) {
          throw new TiermemError('NOT_HELD', `'${key}' is not held (refCount 0); release only what you retained`)
        }
        await setRefCount(ctx, slot, reg.refCount[slot]! - 1)
        return reg.refCount[slot]!
      })
    },

    evict(key, options) {
      return mutateEntry(ctx, key, options, async (slot) => {
        if (reg.refCount[slot]! > 0) {
          throw new TiermemError('REF_HELD', `'${key}' is held (refCount ${reg.refCount[slot]}); release it before evicting`)
        }
        await removeEntries(ctx, [slot], 'manual')
      })
    },

    promote(key, options) {
      return mutateEntry(ctx, key, options, async (slot): Promise<Tier> => {
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
      return mutateEntry(ctx, key, options, async (slot): Promise<Tier> => {
        // A durable: false entry has no lower tier to go to; it stays hot.
        if (reg.tier[slot] === HOT && reg.flags[slot]! & DURABLE) demoteHotToWarm(ctx, slot)
        else if (reg.tier[slot] === WARM) await moveToCold(ctx, [slot])
        return TIER_NAMES[reg.tier[slot] as 0 | 1 | 2]
      })
    },

    gc() {
      return mutate(ctx, 'none', () => runGc(ctx))
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
      return mutate(ctx, 'none', async () => {
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
        await applyLayerRules(
          ctx,
          Object.keys(policy.layers).map((name) => reg.layerId(name)),
          new Set(),
        )
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
        ctx.timers.cancelAll()
        await lane.idle()
        await lane.run(() => persistStats(ctx))
        ctx.closed = true
        for (const wake of [...ctx.levelWaiters]) wake()
        await Promise.all([ctx.warm.close(), ctx.cold.close()])
      })()
      return closed
    },

    [Symbol.asyncDispose]() {
      return memory.close()
    },
  }
  const internals: EngineInternals = {
    putEncoded(items) {
      return putAll(ctx, items.length, () => items.map(({ key, bytes, ...options }) => preparePut(ctx, key, undefined, options, undefined, bytes)))
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
    changes(subscriber) {
      return ctx.feed.subscribe(subscriber)
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

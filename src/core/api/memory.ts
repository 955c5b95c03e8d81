import type { EngineContext } from '../engine/engine-context.ts'
import { applyLayerRules, syncLayerIndexes } from '../lifecycle/layer-rules.ts'
import { checkBudget, mergeLifecyclePolicy, mergePressurePolicy } from '../lifecycle/policy.ts'
import { enforceHotBudget } from '../lifecycle/tier-moves.ts'
import { integrityAlerts } from '../persistence/integrity.ts'
import { persistStats } from '../persistence/load.ts'
import { evaluatePressure, pressureReport, schedulePressureActions } from '../pressure/pressure-controller.ts'
import { runGc } from '../lifecycle/gc.ts'
import { dedupe } from '../lifecycle/dedupe.ts'
import { checkArchiveFilter, restoreArchived, runArchive } from '../lifecycle/archive.ts'
import { checkQueryFilter, matchingSlots } from './query.ts'
import { startBackground } from './background.ts'
import { closedError, mutate, mutateEntry } from './calls.ts'
import { reportBackgroundError } from '../engine/engine-context.ts'
import { engineInternals } from './engine-internals.ts'
import { entryReads } from './entry-reads.ts'
import { entryWrites } from './entry-writes.ts'
import { TiermemError } from './errors.ts'
import { checkTexts } from './validate.ts'
import { recall } from './recall.ts'
import { openBackupStream } from '../backup/backup-writer.ts'
import { restoreBackup } from '../backup/restore.ts'
import type { Snapshots } from '../backup/snapshots.ts'
import { vectorIndex } from '../recall/vector-index.ts'
import { checkSubscription } from './event-bus.ts'
import { ENGINE_INTERNALS } from './internals.ts'
import { openTaskScope } from './scope-api.ts'
import type { Memory, MemoryEvents, RuntimeOptions, SignalSource, StorageWitness } from './types.ts'
import { recordWitness, storageAlerts } from '../persistence/incarnation.ts'

/**
 * The Memory of API.md over an engine context that is open and loaded (open-engine.ts). The
 * browser worker host serves this same object to the page.
 */
export function buildMemory(
  ctx: EngineContext,
  maintenanceMs: number,
  sources: readonly SignalSource[],
  witness: StorageWitness | undefined,
  snapshots: Snapshots,
): Memory {
  const { reg, lane } = ctx
  const openAlerts = [...storageAlerts(ctx), ...integrityAlerts(ctx)]
  let closed: Promise<void> | undefined
  const { monitor } = startBackground(ctx, maintenanceMs, sources)

  const memory: Memory = {
    ...entryReads(ctx),
    ...entryWrites(ctx),
    openScope(taskId, options) {
      if (ctx.closing) return Promise.reject(closedError())
      return openTaskScope(ctx, taskId, options, memory)
    },
    gc() {
      return mutate(ctx, 'none', () => runGc(ctx))
    },
    async checkPressure() {
      if (ctx.closing) throw closedError()
      await monitor()
      await lane.idle()
      return pressureReport(ctx)
    },
    configure(given: RuntimeOptions) {
      // Taken as called: it runs in its turn on the lane, and the caller may change its object meanwhile.
      let options: RuntimeOptions
      try {
        options = structuredClone(given)
      } catch {
        return Promise.reject(new TiermemError('INVALID_OPTION', 'configure takes plain options (numbers, booleans, strings, objects)'))
      }
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
      await vectorIndex(ctx).save()
      await lane.idle()
    },
    recall(query, options) {
      return recall(ctx, query, options)
    },
    dedupe() {
      return mutate(ctx, 'all', () => dedupe(ctx))
    },
    archive(filter) {
      try {
        const checked = checkArchiveFilter(filter)
        return mutate(ctx, 'none', () => runArchive(ctx, checked))
      } catch (error) {
        return Promise.reject(error)
      }
    },
    restore(keyOrFilter, options) {
      if (typeof keyOrFilter === 'string') return mutateEntry(ctx, keyOrFilter, options, (slot) => restoreArchived(ctx, [slot]))
      try {
        if (options !== undefined) throw new TiermemError('INVALID_OPTION', 'restore takes a namespace option only with a key; put the namespace in the filter')
        checkQueryFilter(keyOrFilter)
        const filter = { ...keyOrFilter }
        return mutate(ctx, 'none', () => restoreArchived(ctx, matchingSlots(ctx, filter)))
      } catch (error) {
        return Promise.reject(error)
      }
    },
    backup(options) {
      if (ctx.closing) return Promise.reject(closedError())
      return openBackupStream(ctx, options)
    },
    restoreBackup(sources, options) {
      return restoreBackup(ctx, sources, options)
    },
    async snapshots() {
      if (ctx.closing) throw closedError()
      return snapshots.list()
    },
    async readSnapshot(id) {
      if (ctx.closing) throw closedError()
      return snapshots.read(id)
    },
    embed(texts) {
      if (ctx.closing) return Promise.reject(closedError())
      try {
        checkTexts(texts)
      } catch (error) {
        return Promise.reject(error)
      }
      if (!ctx.embeddings) {
        return Promise.reject(
          new TiermemError(
            'EMBEDDER_MISSING',
            'this memory has no embedder: open it with { embeddings: { embedder } } (createEmbedder from tiermem/embeddings, or your own)',
          ),
        )
      }
      return ctx.embeddings.embed(texts)
    },
    close() {
      // One close however often it is called: a second call resolves when the first has finished.
      closed ??= (async () => {
        ctx.closing = true
        // Texts waiting for a batch are refused before the timers that would send it are cancelled.
        ctx.embeddings?.close()
        ctx.timers.cancelAll()
        await lane.idle()
        // Seed 004's snapshot on shutdown, where backup.auto asks for it and anything changed.
        if (snapshots.auto?.onClose) await snapshots.takeIfChanged().catch((error: unknown) => reportBackgroundError(ctx, 'snapshot-failed', error))
        // The graph as it is now, so the next open loads it instead of rebuilding it.
        await vectorIndex(ctx)
          .close()
          .catch((error: unknown) => reportBackgroundError(ctx, 'vector-index-save-failed', error))
        await lane.run(() => persistStats(ctx))
        await recordWitness(ctx, witness)
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
  Object.defineProperty(memory, ENGINE_INTERNALS, { value: engineInternals(ctx), enumerable: false })
  return memory
}

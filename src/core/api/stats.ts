import { storageStats } from '../persistence/incarnation.ts'
import { archiveStats } from '../lifecycle/archive.ts'
import { vectorIndex } from '../recall/vector-index.ts'
import { integrityStats } from '../persistence/integrity.ts'
import type { EngineContext } from '../engine/engine-context.ts'
import { assessHealth } from '../pressure/health.ts'
import { elapsedNow } from '../pressure/metrics.ts'
import { pressureReport } from '../pressure/pressure-controller.ts'
import { COLD, HOT, WARM } from '../registry/registry.ts'
import type { MemoryStats, VectorIndexStats } from './types.ts'

const COLD_STATS_TTL_MS = 2_000
const coldStatsCache = new WeakMap<EngineContext, { at: number; writes: number; stats: Promise<Awaited<ReturnType<EngineContext['cold']['stats']>>> }>()

/**
 * Some stores walk their records to measure themselves; a dashboard polling stats() must not
 * make them do it every time. A cached figure lives 2 s and only until the next cold write.
 */
export function cachedColdStats(ctx: EngineContext) {
  const now = elapsedNow()
  const cached = coldStatsCache.get(ctx)
  if (cached && cached.writes === ctx.coldWrites && now - cached.at < COLD_STATS_TTL_MS) return cached.stats
  const stats = ctx.cold.stats()
  coldStatsCache.set(ctx, { at: now, writes: ctx.coldWrites, stats })
  stats.catch(() => coldStatsCache.delete(ctx))
  return stats
}

export async function collectStats(ctx: EngineContext): Promise<MemoryStats> {
  const { reg, metrics } = ctx
  const tiers = {
    hot: { count: reg.tierCount[HOT]!, bytes: reg.tierBytes[HOT]! },
    warm: { count: reg.tierCount[WARM]!, bytes: reg.tierBytes[WARM]! },
    cold: { count: reg.tierCount[COLD]!, bytes: reg.tierBytes[COLD]! },
  }
  const layers: MemoryStats['layers'] = {}
  for (const name of new Set([...Object.keys(ctx.policy.layers), ...reg.layerNames.names.filter((n): n is string => n !== undefined)])) {
    const id = reg.layerNames.lookup(name)
    layers[name] = { count: id === undefined ? 0 : (reg.layerCount[id] ?? 0), bytes: id === undefined ? 0 : (reg.layerBytes[id] ?? 0) }
  }
  const coldStats = await cachedColdStats(ctx)
  const pressure = pressureReport(ctx)
  const hitRate = metrics.hitRate()
  const latency = metrics.latencySummary()
  const reads = metrics.hits[0]! + metrics.hits[1]! + metrics.hits[2]! + metrics.misses
  return {
    tiers,
    rates: { ...metrics.lastRates },
    totals: metrics.totals(),
    layers,
    pressure,
    hitRate,
    latency,
    health: assessHealth({ latency, hitRate, reads, pressure, coldDeadRatio: coldStats.deadRatio }),
    warm: { backend: ctx.warm.backend, pages: reg.pages.size, ...reg.pages.totals() },
    cold: {
      backend: ctx.cold.backend,
      compressionRatio: coldStats.compressionRatio,
      deadRatio: coldStats.deadRatio,
      storedBytes: coldStats.storedBytes,
      logicalBytes: coldStats.logicalBytes,
    },
    integrity: integrityStats(ctx),
    embeddings: { cache: ctx.embeddings?.stats() ?? { entries: 0, bytes: 0, hits: 0, misses: 0 }, index: indexStats(ctx) },
    archive: await archiveStats(ctx),
    storage: storageStats(ctx),
  }
}

function indexStats(ctx: EngineContext): VectorIndexStats {
  const { vectors, residentVectors, bytes, stale } = vectorIndex(ctx).stats()
  return { vectors, residentVectors, bytes, stale }
}

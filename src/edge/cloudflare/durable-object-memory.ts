import { createMemory } from '../../core/api/open-engine.ts'
import { TiermemError } from '../../core/api/errors.ts'
import type { Memory, MemoryOptions } from '../../core/api/types.ts'
import { compressedStore } from '../../stores/compressed-store.ts'
import { AlarmScheduler } from './alarm-scheduler.ts'
import type { DurableObjectState, R2Bucket } from './platform.ts'
import { r2Store } from './r2-store.ts'
import { durableObjectSqlStore } from './sql-store.ts'

/** Hot budget in a Durable Object: well under the isolate's 128 MB, beside the runtime and requests. */
export const DURABLE_OBJECT_HOT_BYTES = 32 * 1024 * 1024

export interface DurableObjectMemoryOptions extends Omit<MemoryOptions, 'stores'> {
  /** Prefix of the two tables (warm, cold) in the object's SQLite storage. Default 'tiermem'. */
  tablePrefix?: string
  /** Deflate level of the cold tier, 1..9. Default 6. */
  coldLevel?: 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9
  /**
   * An R2 bucket for the cold tier instead of the object's SQLite (no 10 GB per-object cap). Its
   * objects sit under `<tablePrefix>/<the object's id>/`, so objects sharing a bucket never meet.
   */
  r2?: R2Bucket
}

export interface DurableObjectMemory {
  memory: Memory
  /**
   * Where the engine's background work runs: the object's alarm, unless `scheduler` was given.
   * Call `scheduler.run()` from the object's `alarm()`.
   */
  scheduler: AlarmScheduler | undefined
}

/**
 * The engine over one Durable Object's own storage: hot in the isolate, warm in its SQLite,
 * cold deflated in its SQLite (or in R2, given a bucket). Works in any class that has `ctx.storage.sql`: tiermem's
 * TiermemObject, your own Durable Object, or an Agents SDK `Agent` (pass a scheduler of your own
 * there if the agent uses the alarm itself). Acknowledged puts are in SQLite before they resolve,
 * so evicting the object loses only hot copies.
 */
export async function openDurableObjectMemory(state: DurableObjectState, options: DurableObjectMemoryOptions = {}): Promise<DurableObjectMemory> {
  if (!state?.storage?.sql) {
    throw new TiermemError('INVALID_OPTION', 'this Durable Object has no SQLite storage: declare it in a new_sqlite_classes migration (wrangler.toml)')
  }
  const { tablePrefix = 'tiermem', coldLevel = 6, r2, ...memoryOptions } = options
  const scheduler = memoryOptions.scheduler === undefined ? new AlarmScheduler(state.storage) : undefined
  const memory = await createMemory({
    hot: { maxBytes: DURABLE_OBJECT_HOT_BYTES },
    ...memoryOptions,
    ...(scheduler ? { scheduler } : {}),
    stores: {
      warm: durableObjectSqlStore(state.storage, { table: `${tablePrefix}_warm` }),
      cold: compressedStore(
        r2 ? r2Store(r2, { prefix: `${tablePrefix}-${state.id.toString()}` }) : durableObjectSqlStore(state.storage, { table: `${tablePrefix}_cold` }),
        { level: coldLevel },
      ),
    },
  })
  return { memory, scheduler }
}

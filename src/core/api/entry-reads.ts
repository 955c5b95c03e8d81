import { anyWritePending, inIssueOrder } from '../engine/read-order.ts'
import { lookup, readMany, readOne } from '../engine/read-path.ts'
import type { EngineContext } from '../engine/engine-context.ts'
import { checkMetadataIntact } from '../persistence/integrity.ts'
import { isWellFormed } from '../persistence/storable.ts'
import { storeKeyOf, toEntryInfo } from '../registry/entry-record.ts'
import { closedError, readEntry } from './calls.ts'
import { TiermemError } from './errors.ts'
import { checkQueryFilter, queryEntries } from './query.ts'
import { collectStats } from './stats.ts'
import type { Memory, MemoryStats, NamespaceOption, QueryFilter } from './types.ts'
import { checkKey, checkNamespace } from './validate.ts'

/** The reads of the Memory surface: values, metadata, queries and stats, each in issue order (calls.ts). */
export function entryReads(ctx: EngineContext): Pick<Memory, 'get' | 'getMany' | 'getEntry' | 'has' | 'query' | 'stats' | 'peek'> {
  const { reg } = ctx
  return {
    peek<T>(key: string, options?: NamespaceOption): Promise<T | undefined> {
      if (ctx.closing) return Promise.reject(closedError())
      try {
        checkKey(key)
        return readOne(ctx, checkNamespace(options?.namespace), key, undefined, false) as Promise<T | undefined>
      } catch (error) {
        return Promise.reject(error)
      }
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
      // Taken as called: the read may wait for writes, and the caller may reuse its array.
      const taken = keys.slice()
      taken.forEach(checkKey)
      return readMany(ctx, checkNamespace(options?.namespace), taken) as Promise<(T | undefined)[]>
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
    query(filter: QueryFilter = {}) {
      if (ctx.closing) return Promise.reject(closedError())
      let taken: QueryFilter
      try {
        checkQueryFilter(filter)
        taken = { ...filter }
      } catch (error) {
        return Promise.reject(error)
      }
      return inIssueOrder(ctx, anyWritePending(ctx), () => queryEntries(ctx, taken))
    },
    stats(): Promise<MemoryStats> {
      if (ctx.closing) return Promise.reject(closedError())
      return inIssueOrder(ctx, anyWritePending(ctx), () => collectStats(ctx))
    },
  }
}

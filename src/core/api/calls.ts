import { reportBackgroundError, type EngineContext } from '../engine/engine-context.ts'
import { enqueuePuts, type PreparedPut } from '../engine/put-pipeline.ts'
import { inIssueOrder, noteGlobalWrite, noteKeyWrites, readMustWait } from '../engine/read-order.ts'
import { lookup } from '../engine/read-path.ts'
import { commitChanges } from '../persistence/journal.ts'
import { evaluatePressure } from '../pressure/pressure-controller.ts'
import { readRecord, storeKeyOf } from '../registry/entry-record.ts'
import { DURABLE, REFERENCED } from '../registry/registry.ts'
import { TiermemError } from './errors.ts'
import type { EntryInfo, NamespaceOption } from './types.ts'
import { checkKey, checkNamespace } from './validate.ts'

/** How the calls of the Memory surface reach the engine: checked first, then in issue order. */

export const closedError = () => new TiermemError('CLOSED', 'this memory is closed; open it again to use it')

/**
 * Runs a user's write on the lane in issue order, after the closed check, with pressure
 * re-evaluated after it. `keys`: the store keys it may change, so reads of them wait for it;
 * 'all' where they are not known in advance; 'none' for housekeeping (gc, configure): what it
 * evicts is policy at work, which reads do not wait for (read-order.ts).
 */
export function mutate<T>(ctx: EngineContext, keys: readonly string[] | 'all' | 'none', task: () => Promise<T> | T): Promise<T> {
  if (ctx.closing) return Promise.reject(closedError())
  const result = ctx.lane.run(async () => {
    const value = await task()
    evaluatePressure(ctx)
    return value
  })
  if (keys === 'all') noteGlobalWrite(ctx, ctx.lane.issued)
  else if (keys !== 'none') noteKeyWrites(ctx, keys, ctx.lane.issued, result)
  return result
}

/**
 * A write of one entry: the key is checked now, the entry is found on the lane. An expired
 * entry is NOT_FOUND, as it is absent for get() and has(), unless `expired: 'found'` (release():
 * whoever holds an entry must be able to let go of it after it expires).
 */
export function mutateEntry<T>(
  ctx: EngineContext,
  key: unknown,
  options: NamespaceOption | undefined,
  task: (slot: number) => Promise<T> | T,
  expired: 'absent' | 'found' = 'absent',
): Promise<T> {
  try {
    checkKey(key)
    const namespace = checkNamespace(options?.namespace)
    return mutate(ctx, [storeKeyOf(namespace, key)], () => {
      const slot = expired === 'found' ? ctx.reg.find(namespace, key) : lookup(ctx, namespace, key, ctx.clock.now())
      if (slot < 0) throw new TiermemError('NOT_FOUND', `no entry '${key}' in namespace '${namespace}'`)
      return task(slot)
    })
  } catch (error) {
    return Promise.reject(error)
  }
}

/** A read of one entry's metadata, in issue order. */
export function readEntry<T>(ctx: EngineContext, key: unknown, options: NamespaceOption | undefined, read: (namespace: string, key: string) => T): Promise<T> {
  if (ctx.closing) return Promise.reject(closedError())
  try {
    checkKey(key)
    const namespace = checkNamespace(options?.namespace)
    return inIssueOrder(ctx, readMustWait(ctx, namespace, key), () => read(namespace, key))
  } catch (error) {
    return Promise.reject(error)
  }
}

/** Commits a new refCount for an entry (lane only), then applies it; durable entries journal it first. */
export async function setRefCount(ctx: EngineContext, slot: number, refCount: number): Promise<void> {
  const { reg } = ctx
  const flags = refCount > 0 ? reg.flags[slot]! | REFERENCED : reg.flags[slot]!
  const apply = () => {
    reg.refCount[slot] = refCount
    reg.flags[slot] = flags
    if (refCount > 0) ctx.orphans.delete(slot)
    else ctx.orphans.add(slot)
    ctx.feed.publish({ kind: 'refs', namespace: reg.namespaces[slot]!, key: reg.keys[slot]!, refCount }, (flags & DURABLE) !== 0)
  }
  if (!(reg.flags[slot]! & DURABLE)) return apply()
  const record = readRecord(reg, slot)
  record.refCount = refCount
  record.flags = flags
  await commitChanges(ctx, [{ entry: record, apply }])
}

/** putMany and the worker's encoded putMany: prepare every item (any bad one fails the call), then one batch. */
export function putAll(ctx: EngineContext, count: number, prepareEach: () => PreparedPut[]): Promise<EntryInfo[]> {
  if (ctx.closing) return Promise.reject(closedError())
  try {
    const prepared = prepareEach()
    return count === 0 ? Promise.resolve([]) : enqueuePuts(ctx, prepared)
  } catch (error) {
    return Promise.reject(error)
  }
}

/** Queues housekeeping on the lane; a failure is reported as an alert, never thrown at nobody. */
export function background(ctx: EngineContext, name: string, task: () => Promise<unknown>): Promise<void> {
  if (ctx.closing) return Promise.resolve()
  return ctx.lane.run(task).then(
    () => void evaluatePressure(ctx),
    (error: unknown) => reportBackgroundError(ctx, name, error),
  )
}

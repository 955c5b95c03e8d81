import { storeKeyOf } from '../registry/entry-record.ts'
import type { EngineContext } from './engine-context.ts'
import { noteRead } from './foreground.ts'

/**
 * Issue order, the rule every database keeps: operations take effect in the order they were
 * issued, even when nobody awaits them, and a read sees every write issued before it and none
 * issued after it.
 *
 * Writes keep it by running on the lane in order. A read is answered at once (the common case,
 * and a hot get stays synchronous) unless a write issued before it has not landed yet; then it
 * runs as the lane's next task, after that write and before any write issued later. Writes
 * note their keys here when they are queued; a scope close (and clear) touches keys nobody can
 * name in advance, so every read waits for it. Housekeeping — gc, tier moves, pressure relief,
 * configure — is not an operation on the user's data: reads never wait for it, and what it
 * evicts (expired, orphaned, over a budget) may go at any moment.
 */

/** Notes that the lane task `ticket`, queued just now, writes these store keys. */
export function noteKeyWrites(ctx: EngineContext, keys: readonly string[], ticket: number, landed: Promise<unknown>): void {
  ctx.writeTickets.last = ticket
  if (keys.length === 0) return
  for (const key of keys) ctx.pendingWrites.set(key, ticket)
  // Forget the keys once the write has landed, unless a later write took their place.
  const forget = () => {
    for (const key of keys) if (ctx.pendingWrites.get(key) === ticket) ctx.pendingWrites.delete(key)
  }
  landed.then(forget, forget)
}

/** Notes that the lane task `ticket`, queued just now, may write any key. */
export function noteGlobalWrite(ctx: EngineContext, ticket: number): void {
  ctx.writeTickets.last = ticket
  ctx.writeTickets.global = ticket
}

/**
 * Whether a write issued before now may change what a read of these keys returns. The common
 * case — nothing pending — is answered before any store key is built (a hot get is this cheap).
 */
export function readMustWait(ctx: EngineContext, namespace: string, keys: string | readonly string[]): boolean {
  if (!ctx.lane.done(ctx.writeTickets.global)) return true
  if (ctx.pendingWrites.size === 0) return false
  // One key is passed as itself: a get allocates nothing here.
  for (const key of typeof keys === 'string' ? [keys] : keys) {
    const ticket = ctx.pendingWrites.get(storeKeyOf(namespace, key))
    if (ticket !== undefined && !ctx.lane.done(ticket)) return true
  }
  return false
}

/** Whether any write issued before now has not landed yet (for reads over every entry: query, stats). */
export function anyWritePending(ctx: EngineContext): boolean {
  return !ctx.lane.done(ctx.writeTickets.last)
}

/**
 * Runs a read now, or as the lane's next task when a write issued before it is still on its way.
 * Call only from outside the lane: a read already on the lane runs directly.
 */
export function inIssueOrder<T>(ctx: EngineContext, mustWait: boolean, read: () => Promise<T> | T): Promise<T> {
  if (!mustWait) {
    noteRead()
    try {
      return Promise.resolve(read())
    } catch (error) {
      return Promise.reject(error)
    }
  }
  return ctx.lane.run(read)
}

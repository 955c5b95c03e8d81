import type { EngineContext } from '../engine/engine-context.ts'
import { TiermemError } from './errors.ts'
import { scopesPressed } from '../pressure/pressure-signals.ts'
import { enqueuePuts, preparePut } from '../engine/put-pipeline.ts'
import type { ScopeState } from '../lifecycle/scope-state.ts'
import { noteGlobalWrite } from '../engine/read-order.ts'
import { checkKey, shortName } from './validate.ts'
import { closeScope } from '../lifecycle/task-scope.ts'
import type { EntryInfo, Memory, PutOptions, TaskScope } from './types.ts'

/**
 * Opens a task scope (seed 000). Entries put through it are stored as `${taskId}:${key}`,
 * carry the task id, and are held by the scope (refCount + 1) until it closes. While pressure
 * is critical or worse, new scopes wait up to pressure.scopeWaitMs for it to ease, then fail
 * with SCOPE_PAUSED.
 */
export async function openTaskScope(
  ctx: EngineContext,
  taskId: unknown,
  options: { critical?: boolean; quotaBytes?: number } | undefined,
  memory: Memory,
): Promise<TaskScope> {
  shortName('openScope taskId', taskId)
  const critical = options?.critical ?? false
  const quotaBytes = options?.quotaBytes ?? ctx.pressurePolicy.taskQuotaBytes
  if (typeof critical !== 'boolean') throw new TiermemError('INVALID_OPTION', 'openScope critical must be a boolean')
  if (typeof quotaBytes !== 'number' || !(quotaBytes >= 0)) throw new TiermemError('INVALID_OPTION', 'openScope quotaBytes must be a number ≥ 0')
  if (ctx.scopes.has(taskId)) throw new TiermemError('INVALID_OPTION', `a scope for task '${taskId}' is already open; close it first`)
  await waitUntilScopesAllowed(ctx)
  if (ctx.scopes.has(taskId)) throw new TiermemError('INVALID_OPTION', `a scope for task '${taskId}' is already open; close it first`)

  const state: ScopeState = {
    taskId,
    critical,
    quotaBytes,
    controller: new AbortController(),
    owned: new Map(),
    usedBytes: 0,
    closeRequested: false,
    closed: false,
  }
  ctx.scopes.set(taskId, state)
  let closing: Promise<void> | undefined

  const close = (closeOptions?: { keepEvidence?: boolean }): Promise<void> => {
    if (closing) return closing
    const keepEvidence = closeOptions?.keepEvidence ?? true
    if (typeof keepEvidence !== 'boolean') return Promise.reject(new TiermemError('INVALID_OPTION', 'keepEvidence must be a boolean'))
    // After the memory's close the scope's references stay stored; the next open releases them.
    if (ctx.closing)
      return Promise.reject(new TiermemError('CLOSED', `the memory is closed; the scope of task '${taskId}' is released when it is opened again`))
    state.closeRequested = true
    closing = ctx.lane.run(async () => {
      state.closed = true
      ctx.scopes.delete(taskId)
      await closeScope(ctx, state, keepEvidence)
    })
    // Reads issued after close() see its deletions: it may touch any of the scope's keys.
    noteGlobalWrite(ctx, ctx.lane.issued)
    // A failed close can be retried: it releases only what the failed attempt did not.
    closing.catch(() => (closing = undefined))
    return closing
  }

  return {
    taskId,
    signal: state.controller.signal,
    put(key: string, value: unknown, putOptions?: PutOptions): Promise<EntryInfo> {
      try {
        if (state.closeRequested) throw new TiermemError('CLOSED', `the scope of task '${taskId}' is closed`)
        if (ctx.closing) throw new TiermemError('CLOSED', 'this memory is closed; open it again to use it')
        if (putOptions?.taskId !== undefined && putOptions.taskId !== taskId) {
          throw new TiermemError('INVALID_OPTION', `a scope's entries belong to its task '${taskId}'; do not set another taskId`)
        }
        checkScopedKey(key)
        const prepared = preparePut(ctx, `${taskId}:${key}`, value, putOptions, state)
        return enqueuePuts(ctx, [prepared]).then((infos) => infos[0]!)
      } catch (error) {
        return Promise.reject(error)
      }
    },
    get<T>(key: string): Promise<T | undefined> {
      try {
        checkScopedKey(key)
        return memory.get<T>(`${taskId}:${key}`)
      } catch (error) {
        return Promise.reject(error)
      }
    },
    close,
    [Symbol.asyncDispose]: () => close(),
  }
}

function checkScopedKey(key: unknown): void {
  if (typeof key !== 'string' || key.length === 0) throw new TiermemError('INVALID_KEY', 'scope keys are non-empty strings')
  checkKey(key)
}

async function waitUntilScopesAllowed(ctx: EngineContext): Promise<void> {
  const paused = () => scopesPressed(ctx, 'critical')
  if (!paused()) return
  const waitMs = ctx.pressurePolicy.scopeWaitMs
  const eased = await new Promise<boolean>((resolve) => {
    if (waitMs === 0) return resolve(false)
    const wake = () => {
      if (paused() && !ctx.closed) return
      cancel()
      ctx.levelWaiters.delete(wake)
      resolve(!ctx.closed)
    }
    const cancel = ctx.timers.after(waitMs, () => {
      ctx.levelWaiters.delete(wake)
      resolve(false)
    })
    ctx.levelWaiters.add(wake)
  })
  if (ctx.closed) throw new TiermemError('CLOSED', 'the memory was closed while the scope waited')
  if (!eased) {
    throw new TiermemError(
      'SCOPE_PAUSED',
      `new task scopes are paused: memory pressure is ${ctx.level}; retry when it eases (waited ${waitMs} ms), free memory, or raise the budgets`,
    )
  }
}

import type { Remote } from 'comlink'
import type { EntryInfo, PutOptions, TaskScope } from '../core/api/types.ts'
import type { MemoryHost } from '../wire/protocol.ts'
import { ownPutOptions } from './own-views.ts'

/**
 * A task scope whose state lives with the engine (named there by number): its calls go through
 * the page's call gate, and its signal aborts when the engine says so or the worker is lost.
 */
export function remoteScope(
  taskId: string,
  id: number,
  remote: Remote<MemoryHost>,
  call: <T>(run: () => Promise<T>) => Promise<T>,
  controllers: Map<number, AbortController>,
): TaskScope {
  const controller = new AbortController()
  controllers.set(id, controller)
  let closing: Promise<void> | undefined
  const close = (closeOptions?: { keepEvidence?: boolean }) =>
    (closing ??= call(async () => {
      controllers.delete(id)
      await remote.scopeClose(id, closeOptions)
    }))
  return {
    taskId,
    signal: controller.signal,
    put: (key: string, value: unknown, putOptions?: PutOptions): Promise<EntryInfo> => call(() => remote.scopePut(id, key, value, ownPutOptions(putOptions))),
    get: <T>(key: string) => call(() => remote.scopeGet(id, key) as Promise<T | undefined>),
    close,
    [Symbol.asyncDispose]: () => close(),
  }
}

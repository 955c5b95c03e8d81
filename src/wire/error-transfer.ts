import { transferHandlers, type TransferHandler } from 'comlink'
import { TiermemError, type ErrorCode } from '../core/api/errors.ts'

interface SerializedTiermemError {
  tiermem: true
  code: ErrorCode
  message: string
  stack?: string
  cause?: { name: string; message: string }
}

const INSTALLED = Symbol.for('tiermem.errorTransfer')

/** A TiermemError as plain data (per-item results carry these). Other errors keep name and message. */
export function serializeError(error: unknown): SerializedTiermemError | { tiermem: false; name: string; message: string } {
  if (error instanceof Error && typeof (error as { code?: unknown }).code === 'string' && error.name === 'TiermemError') {
    const cause = error.cause as { name?: string; message?: string } | undefined
    return {
      tiermem: true,
      code: (error as TiermemError).code,
      message: error.message,
      ...(error.stack ? { stack: error.stack } : {}),
      ...(cause ? { cause: { name: String(cause.name ?? 'Error'), message: String(cause.message ?? cause) } } : {}),
    }
  }
  return { tiermem: false, name: (error as Error)?.name ?? 'Error', message: (error as Error)?.message ?? String(error) }
}

export function deserializeError(s: ReturnType<typeof serializeError>): Error {
  if (s.tiermem) {
    const cause = s.cause ? Object.assign(new Error(s.cause.message), { name: s.cause.name }) : undefined
    const error = new TiermemError(s.code, s.message, cause ? { cause } : undefined)
    if (s.stack) error.stack = s.stack
    return error
  }
  return Object.assign(new Error(s.message), { name: s.name })
}

/**
 * Makes errors thrown across a comlink boundary keep what callers branch on. comlink's own
 * handler flattens every Error to { name, message, stack }; this one sends a TiermemError's
 * `code` and its `cause` (name and message: a DOMException itself does not clone reliably) and
 * rebuilds a real TiermemError on the other side. Other errors go through comlink's handler.
 * Call it on both sides (the worker and the page) before any call crosses.
 */
export function installErrorTransfer(): void {
  const original = transferHandlers.get('throw') as TransferHandler<{ value: unknown }, unknown> & { [INSTALLED]?: true }
  if (original[INSTALLED]) return
  const handler: TransferHandler<{ value: unknown }, unknown> & { [INSTALLED]: true } = {
    [INSTALLED]: true,
    canHandle: original.canHandle,
    serialize(thrown) {
      const serialized = serializeError(thrown.value)
      return serialized.tiermem ? [serialized, []] : original.serialize(thrown)
    },
    deserialize(serialized) {
      const s = serialized as Partial<SerializedTiermemError>
      if (s && s.tiermem === true && typeof s.code === 'string') throw deserializeError(s as SerializedTiermemError)
      return original.deserialize(serialized)
    },
  }
  transferHandlers.set('throw', handler as TransferHandler<unknown, unknown>)
}

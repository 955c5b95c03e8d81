import { isTiermemError, type ErrorCode } from '../core/api/errors.ts'

/** The HTTP API's own codes, beside the engine's (API.md, "The edge"). */
export type HttpErrorCode = ErrorCode | 'BAD_REQUEST' | 'UNAUTHORIZED' | 'FORBIDDEN' | 'TOO_LARGE' | 'METHOD_NOT_ALLOWED' | 'INTERNAL'

/** A refusal the HTTP layer answers with its status and `{ error: { code, message } }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: HttpErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

/** The status each engine code answers with: bad input 400, missing 404, full 507. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_KEY: 400,
  INVALID_VALUE: 400,
  INVALID_OPTION: 400,
  BACKUP_INVALID: 400,
  DIMENSION_MISMATCH: 400,
  EMBEDDER_MISSING: 400,
  NOT_FOUND: 404,
  NOT_HELD: 404,
  REF_HELD: 409,
  SCOPE_PAUSED: 503,
  QUOTA_EXCEEDED: 507,
  LAYER_FULL: 507,
  CLOSED: 503,
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' }

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: JSON_HEADERS })
}

/**
 * The response for any failure. A TiermemError keeps its code and message; anything else is a
 * 500 whose message names no internals (the cause stays in the server's log, not the client's).
 */
export function errorResponse(error: unknown): Response {
  if (error instanceof HttpError) return jsonResponse({ error: { code: error.code, message: error.message } }, error.status)
  if (isTiermemError(error)) {
    const status = STATUS[error.code] ?? 500
    return jsonResponse({ error: { code: error.code, message: error.message } }, status)
  }
  console.error('tiermem: unexpected error in a request', error)
  return jsonResponse({ error: { code: 'INTERNAL', message: 'the server failed to answer this request; it is logged there' } }, 500)
}

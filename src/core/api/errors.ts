/**
 * Every error tiermem throws on purpose. The `code` is stable and meant for programs;
 * the message is for people and says what to do.
 */
export const ErrorCode = {
  /** Empty key, not a string, or longer than 1,024 characters. */
  INVALID_KEY: 'INVALID_KEY',
  /** A value the codec cannot store (functions, symbols, …). */
  INVALID_VALUE: 'INVALID_VALUE',
  /** An option outside its domain (importance outside 0..1, unknown tier or layer, …). */
  INVALID_OPTION: 'INVALID_OPTION',
  /** Evicting an entry whose refCount > 0. */
  REF_HELD: 'REF_HELD',
  /** Releasing an entry that nobody holds (refCount is already 0). */
  NOT_HELD: 'NOT_HELD',
  /** retain / release / evict / promote / demote of a key that is not stored. */
  NOT_FOUND: 'NOT_FOUND',
  /** Opening a scope while new scopes are paused (critical pressure). */
  SCOPE_PAUSED: 'SCOPE_PAUSED',
  /** The storage (or a layer / task budget) refused the write; nothing already stored is lost. */
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  /** A stored record failed its checksum or could not be read back. */
  CORRUPT: 'CORRUPT',
  /** A call after `close()`. */
  CLOSED: 'CLOSED',
  /** The worker that runs the engine stopped (crashed or was terminated) while the call was pending. */
  WORKER_LOST: 'WORKER_LOST',
  /** A put into a layer at capacity that cleanup cannot make room in without deleting the put itself (the rest is held). */
  LAYER_FULL: 'LAYER_FULL',
  /** Another tab or worker has this memory's files open (until several tabs share one leader). */
  LOCKED: 'LOCKED',
  /** A task scope's work was stopped (its signal's reason, where no more precise code applies). */
  ABORTED: 'ABORTED',
  /** Text to embed (`embed`, `put(..., { embed })`, `recall` of a text) on a memory opened without an embedder. */
  EMBEDDER_MISSING: 'EMBEDDER_MISSING',
  /** A vector whose length differs from the embedder's (or the index's) dimensions. */
  DIMENSION_MISMATCH: 'DIMENSION_MISMATCH',
  /** A backup that is truncated, tampered with, out of chain order or of an unknown format: nothing was written. */
  BACKUP_INVALID: 'BACKUP_INVALID',
  /** A call in flight when the tab leading this memory went away, and not safe to send again: it may or may not have happened. */
  LEADER_CHANGED: 'LEADER_CHANGED',
} as const

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

export class TiermemError extends Error {
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'TiermemError'
    this.code = code
  }
}

export function isTiermemError(error: unknown, code?: ErrorCode): error is TiermemError {
  return error instanceof TiermemError && (code === undefined || error.code === code)
}

/** Whether a string is one of the stable codes (codes cross the worker boundary as strings). */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ErrorCode, code)
}

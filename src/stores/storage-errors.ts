import { isTiermemError, TiermemError } from '../core/api/errors.ts'

/**
 * Maps a platform storage failure to a TiermemError, keeping the original as `cause`:
 * QuotaExceededError → QUOTA_EXCEEDED; a closed or unusable database → CLOSED; the OPFS lock
 * held elsewhere (NoModificationAllowedError) → LOCKED with directions; anything else keeps
 * its own message under the code the caller gives.
 */
export function toStorageError(error: unknown, what: string, fallback: TiermemError['code'] = 'CORRUPT'): TiermemError {
  if (isTiermemError(error)) return error
  const name = (error as { name?: string } | null)?.name
  const detail = (error as { message?: string } | null)?.message ?? String(error)
  if (name === 'QuotaExceededError') {
    return new TiermemError(
      'QUOTA_EXCEEDED',
      `${what}: the browser refused the write for lack of storage quota; free space or delete entries (nothing already stored was lost)`,
      { cause: error },
    )
  }
  if (name === 'InvalidStateError' || (name === 'AbortError' && /closed|closing/i.test(detail))) {
    return new TiermemError('CLOSED', `${what}: the database is closed (${detail}); open the memory again`, { cause: error })
  }
  if (name === 'NoModificationAllowedError') {
    return new TiermemError('LOCKED', `${what}: another tab or worker has this memory open (${detail}); close it there first`, { cause: error })
  }
  return new TiermemError(fallback, `${what}: ${detail}`, { cause: error })
}

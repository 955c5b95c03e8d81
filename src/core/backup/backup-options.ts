import { TiermemError } from '../api/errors.ts'
import type { BackupOptions, RestoreOptions } from '../api/types.ts'

/** backup() and restoreBackup() options, checked alike in-process and on the page before anything crosses to the worker. */

const DEFAULT_LEVEL = 1

export function checkBackupOptions(options: unknown): { incremental: boolean; level: number; onProgress: ((done: number, total: number) => void) | undefined } {
  if (options === undefined) return { incremental: false, level: DEFAULT_LEVEL, onProgress: undefined }
  if (typeof options !== 'object' || options === null) throw new TiermemError('INVALID_OPTION', 'backup takes { incremental?, level?, onProgress? }')
  for (const name in options) {
    if (!['incremental', 'level', 'onProgress'].includes(name))
      throw new TiermemError('INVALID_OPTION', `unknown backup option '${name}'; known: incremental, level, onProgress`)
  }
  const o = options as BackupOptions
  if (o.incremental !== undefined && typeof o.incremental !== 'boolean') throw new TiermemError('INVALID_OPTION', 'backup incremental must be a boolean')
  if (o.level !== undefined && !(Number.isInteger(o.level) && o.level >= 0 && o.level <= 9))
    throw new TiermemError('INVALID_OPTION', 'backup level is a deflate level, an integer 0..9')
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function')
    throw new TiermemError('INVALID_OPTION', 'backup onProgress must be a function (done, total) => void')
  return { incremental: o.incremental ?? false, level: o.level ?? DEFAULT_LEVEL, onProgress: o.onProgress }
}

export function checkRestoreOptions(options: unknown): Required<Pick<RestoreOptions, 'mode'>> & Pick<RestoreOptions, 'until' | 'onProgress'> {
  if (options === undefined) return { mode: 'merge' }
  if (typeof options !== 'object' || options === null) throw new TiermemError('INVALID_OPTION', 'restoreBackup takes { until?, mode?, onProgress? }')
  for (const name in options) {
    if (!['until', 'mode', 'onProgress'].includes(name))
      throw new TiermemError('INVALID_OPTION', `unknown restoreBackup option '${name}'; known: until, mode, onProgress`)
  }
  const o = options as RestoreOptions
  if (o.until !== undefined && !(typeof o.until === 'number' && Number.isFinite(o.until)))
    throw new TiermemError('INVALID_OPTION', 'until is a time in ms since the epoch')
  if (o.mode !== undefined && o.mode !== 'merge' && o.mode !== 'replace')
    throw new TiermemError('INVALID_OPTION', `mode is 'merge' or 'replace'; got ${JSON.stringify(o.mode)}`)
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function')
    throw new TiermemError('INVALID_OPTION', 'onProgress must be a function (done, total) => void')
  return { mode: o.mode ?? 'merge', until: o.until, onProgress: o.onProgress }
}

import { TiermemError } from '../api/errors.ts'
import { STORE_SPACES, type StoreOp } from './store.ts'

/**
 * Checks every op before any is applied, so a bad op fails the whole batch and changes nothing.
 * `rangeDeletes`: the store takes 'deleteRange' ops.
 */
export function validateBatch(ops: readonly StoreOp[], rangeDeletes = false): void {
  if (!Array.isArray(ops)) throw new TiermemError('INVALID_OPTION', 'batch() takes an array of ops')
  for (const op of ops) {
    if (!op || !STORE_SPACES.includes(op.space)) {
      throw new TiermemError('INVALID_OPTION', `store op has an unknown space: ${String(op?.space)}`)
    }
    if (op.type === 'deleteRange') {
      if (!rangeDeletes) throw new TiermemError('INVALID_OPTION', `this store does not take 'deleteRange' ops (capabilities.rangeDeletes)`)
      if (typeof op.after !== 'string' || typeof op.before !== 'string' || !(op.after < op.before)) {
        throw new TiermemError('INVALID_OPTION', `a deleteRange op needs string bounds with after < before`)
      }
      continue
    }
    if (typeof op.key !== 'string' || op.key.length === 0) {
      throw new TiermemError('INVALID_KEY', 'store op keys are non-empty strings')
    }
    if (op.type === 'put') {
      if (!(op.value instanceof Uint8Array)) {
        throw new TiermemError('INVALID_VALUE', `store put of '${op.key}' needs a Uint8Array value`)
      }
    } else if (op.type !== 'delete') {
      throw new TiermemError('INVALID_OPTION', `store op type must be 'put', 'delete' or 'deleteRange'`)
    }
  }
}

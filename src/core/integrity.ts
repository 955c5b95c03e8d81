import { hashBytes } from './content-hash.ts'
import type { EngineContext } from './engine-context.ts'
import { TiermemError } from './errors.ts'

/**
 * Checks bytes read from a store against the content hash recorded at put: a damaged or
 * swapped record is reported as CORRUPT for this entry instead of decoding into wrong data.
 */
export function verifyContent(ctx: EngineContext, slot: number, bytes: Uint8Array): void {
  if (!hashMatches(bytes, ctx.reg.hashHi[slot]!, ctx.reg.hashLo[slot]!)) {
    ctx.metrics.errors++
    throw new TiermemError('CORRUPT', `the stored value of '${ctx.reg.keys[slot]}' does not match its content hash; the entry is damaged (other entries are unaffected)`)
  }
}

/** Whether bytes are the ones a content hash names. */
export function hashMatches(bytes: Uint8Array, hi: number, lo: number): boolean {
  const hash = hashBytes(bytes)
  return hash.hi === hi && hash.lo === lo
}

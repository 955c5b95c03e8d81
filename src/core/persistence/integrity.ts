import { hashMatches } from './content-hash.ts'
import type { EngineContext } from '../engine/engine-context.ts'
import { storeKeyOf } from '../registry/entry-record.ts'
import { TiermemError } from '../api/errors.ts'
import type { MemoryEvents, MemoryStats } from '../api/types.ts'

/**
 * Checks bytes read from a store against the content hash recorded at put: a damaged or
 * swapped record is reported as CORRUPT for this entry instead of decoding into wrong data.
 */
export function verifyContent(ctx: EngineContext, slot: number, bytes: Uint8Array): void {
  if (!hashMatches(bytes, ctx.reg.hashHi[slot]!, ctx.reg.hashLo[slot]!)) {
    ctx.metrics.errors++
    noteDamage(ctx, ctx.reg.namespaces[slot]!, ctx.reg.keys[slot]!, 'value')
    throw new TiermemError(
      'CORRUPT',
      `the stored value of '${ctx.reg.keys[slot]}' does not match its content hash; the entry is damaged (other entries are unaffected)`,
    )
  }
}

/** Records a damaged record of an entry. */
export function noteDamage(ctx: EngineContext, namespace: string, key: string, what: 'value' | 'metadata'): void {
  const storeKey = storeKeyOf(namespace, key)
  ctx.integrity.corruptRecords++
  ctx.integrity.entries.set(storeKey, { namespace, key, what })
  if (what === 'metadata') ctx.integrity.lostMetadata.add(storeKey)
}

/** A new put or a delete of the key replaces whatever was damaged. */
export function clearDamage(ctx: EngineContext, storeKey: string): void {
  if (ctx.integrity.entries.size === 0) return
  ctx.integrity.entries.delete(storeKey)
  ctx.integrity.lostMetadata.delete(storeKey)
}

/** Throws CORRUPT for a key whose metadata failed its check (cheap when none has). */
export function checkMetadataIntact(ctx: EngineContext, storeKey: string, key: string): void {
  if (ctx.integrity.lostMetadata.size !== 0 && ctx.integrity.lostMetadata.has(storeKey)) {
    throw new TiermemError(
      'CORRUPT',
      `the stored metadata of '${key}' is damaged; the entry cannot be read (put or delete it to replace it; other entries are unaffected)`,
    )
  }
}

/** The alert a memory that opened with damaged metadata raises (none when all is well). */
export function integrityAlerts(ctx: EngineContext): Array<MemoryEvents['alert']> {
  const damaged = [...ctx.integrity.entries.values()]
  if (damaged.length === 0) return []
  return [
    {
      name: 'integrity',
      severity: 'critical',
      detail: {
        message: `${damaged.length} entr${damaged.length === 1 ? 'y' : 'ies'} could not be read back intact: their stored metadata failed its checksum; they answer CORRUPT until put or deleted again, the rest of the memory is unaffected`,
        entries: damaged,
      },
    },
  ]
}

/** stats().integrity */
export function integrityStats(ctx: EngineContext): MemoryStats['integrity'] {
  const entries = [...ctx.integrity.entries.values()]
  return { corruptRecords: ctx.integrity.corruptRecords, corruptKeys: entries.map((e) => e.key), entries }
}

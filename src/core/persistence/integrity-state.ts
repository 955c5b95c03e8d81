/**
 * Damaged stored records found so far. Values are checked on every warm or cold read against
 * their content hash; metadata records are checked at open (meta-record.ts). An entry whose
 * metadata failed its check is not in the registry: its key answers CORRUPT until it is put or
 * deleted again. Both kinds are listed in stats().integrity.
 */
export interface IntegrityState {
  /** Damaged records found (a value read, or a metadata item at open). */
  corruptRecords: number
  /** Entries found damaged, by store key: what was damaged. */
  readonly entries: Map<string, { namespace: string; key: string; what: 'value' | 'metadata' }>
  /** Store keys of entries whose metadata is damaged (not in the registry): reads of them answer CORRUPT. */
  readonly lostMetadata: Set<string>
}

export function newIntegrityState(): IntegrityState {
  return { corruptRecords: 0, entries: new Map(), lostMetadata: new Set() }
}

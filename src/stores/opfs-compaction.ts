import type { KeyedStoreOp, StoreSpace } from '../core/store/store.ts'
import { splitRecordKey, type Location, type Segment, type SegmentIndex } from './opfs-index.ts'

/** What compaction needs from the store around it. */
export interface CompactionDeps {
  /** A sealed segment is compacted once this share of its bytes is dead. */
  compactDeadRatio: number
  /** The inflated payload of the block at a location (cached by the store). */
  readPayload(location: Location): Uint8Array
  /** Writes ops as new blocks at the end of the active segment. */
  write(ops: readonly KeyedStoreOp[]): Promise<void>
  /** Makes what was written durable (when the store flushes). */
  flushActive(): void
  /** Forgets cached blocks of a segment that is going. */
  dropCached(segment: Segment): void
  removeFile(name: string): Promise<void>
}

/**
 * Rewrites sealed segments that are mostly dead: their live records (and the tombstones that
 * must outlive older records of their keys) are written forward into the active segment, made
 * durable, and only then is the old file removed — a crash at any point leaves every record
 * readable from its newest copy.
 */
export async function compactSegments(state: SegmentIndex, deps: CompactionDeps): Promise<void> {
  const due = new Map<Segment, Array<{ space: StoreSpace; key: string; location: Location }>>()
  for (const segment of state.segments) {
    if (segment === state.active() || segment.rawBytes === 0) continue
    if (1 - segment.liveBytes / segment.rawBytes >= deps.compactDeadRatio) due.set(segment, [])
  }
  if (due.size === 0) return
  // One pass over the index for every due segment. Their lists stay true while they are
  // rewritten one by one: a rewrite only moves its own segment's records to the active one.
  for (const space of ['meta', 'values'] as const) {
    for (const [key, location] of state.index[space]) due.get(location.segment)?.push({ space, key, location })
  }
  for (const [segment, records] of due) {
    const live: KeyedStoreOp[] = records.map(({ space, key, location }) => ({
      type: 'put',
      space,
      key,
      value: deps.readPayload(location).slice(location.offset, location.offset + location.length),
    }))
    // A tombstone must outlive every older record of its key: while an older segment exists
    // and the key is still deleted, it is carried forward, or the older put would come back
    // at the next open.
    if (state.segments.some((older) => older.seq < segment.seq)) {
      for (const recordKey of segment.tombstones) {
        const { space, key } = splitRecordKey(recordKey)
        if (!state.index[space].has(key)) live.push({ type: 'delete', space, key })
      }
    }
    await deps.write(live)
    deps.flushActive()
    // Every live record now has a newer copy; only then does the old file go.
    segment.handle.close()
    state.dropSegment(segment)
    deps.dropCached(segment)
    await deps.removeFile(segment.name)
  }
}

import { reportUncaught } from './report-uncaught.ts'
import type { EvictionReason, Tier } from '../api/types.ts'

/**
 * Every committed change to an entry, in commit order, after it is durable: what the public
 * events are built on, and what the vector index, incremental backups, other tabs and edge sync
 * will build on.
 *
 * Sequence numbers: each durable change (one the journal records) gets a number greater than every
 * number handed out before it, across reopens and crashes too (journal chunks and the checkpoint
 * pointer persist a high-water mark, journal.ts; numbers may skip). A change that is never durable
 * — a hot copy made or dropped, anything done to an entry put with durable: false — takes no
 * number of its own: it carries one no smaller than the last and below the next durable change's.
 * So "every durable change numbered above N" is exact, which is what an incremental backup asks.
 */
export type EntryChange =
  | { seq: number; kind: 'put'; namespace: string; key: string; tier: Tier; layer: string; sizeBytes: number; replaced: boolean; durable: boolean }
  | { seq: number; kind: 'delete'; namespace: string; key: string; reason: EvictionReason; sizeBytes: number }
  | { seq: number; kind: 'tier'; namespace: string; key: string; from: Tier; to: Tier }
  | { seq: number; kind: 'layer'; namespace: string; key: string; from: string; to: string; reason: 'transfer' | 'promotion'; score?: number }
  | { seq: number; kind: 'refs'; namespace: string; key: string; refCount: number }

/** A change as published, before it has its number. */
export type NewChange = EntryChange extends infer C ? (C extends EntryChange ? Omit<C, 'seq'> : never) : never

export type ChangeSubscriber = (change: EntryChange) => void

export class ChangeFeed {
  /** The number the next durable change gets. */
  nextSeq = 1
  private subscribers: Array<{ subscriber: ChangeSubscriber; kinds: ReadonlySet<EntryChange['kind']> | undefined }> = []
  /** How many subscribers want each kind: a put nobody watches costs its number and nothing else. */
  private readonly watching: Record<EntryChange['kind'], number> = { put: 0, delete: 0, tier: 0, layer: 0, refs: 0 }

  /** Subscribes to every change, or to the given kinds only. */
  subscribe(subscriber: ChangeSubscriber, kinds?: ReadonlyArray<EntryChange['kind']>): () => void {
    const entry = { subscriber, kinds: kinds && new Set(kinds) }
    this.subscribers = [...this.subscribers, entry]
    for (const kind of Object.keys(this.watching) as Array<EntryChange['kind']>) if (!entry.kinds || entry.kinds.has(kind)) this.watching[kind]++
    return () => {
      if (!this.subscribers.includes(entry)) return
      this.subscribers = this.subscribers.filter((s) => s !== entry)
      for (const kind of Object.keys(this.watching) as Array<EntryChange['kind']>) if (!entry.kinds || entry.kinds.has(kind)) this.watching[kind]--
    }
  }

  /** Whether any subscriber wants this kind; where none does, call skip() instead of building the change. */
  watched(kind: EntryChange['kind']): boolean {
    return this.watching[kind] > 0
  }

  /** A change nobody watches: it still takes its number if durable. */
  skip(durable: boolean): void {
    if (durable) this.nextSeq++
  }

  /**
   * Numbers a change and hands it to every subscriber. A subscriber that throws never breaks the
   * write that made the change (it has landed): its error is reported the way the platform
   * reports uncaught errors.
   */
  publish(change: NewChange, durable: boolean): void {
    // The caller's object literal is its own: number it in place rather than copy it.
    const numbered = change as EntryChange
    numbered.seq = durable ? this.nextSeq++ : this.nextSeq - 1
    for (const { subscriber, kinds } of this.subscribers) {
      if (kinds && !kinds.has(numbered.kind)) continue
      try {
        subscriber(numbered)
      } catch (error) {
        reportUncaught(error)
      }
    }
  }
}

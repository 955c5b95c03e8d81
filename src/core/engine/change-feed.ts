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
  private subscribers: ChangeSubscriber[] = []

  subscribe(subscriber: ChangeSubscriber): () => void {
    this.subscribers = [...this.subscribers, subscriber]
    return () => {
      this.subscribers = this.subscribers.filter((s) => s !== subscriber)
    }
  }

  /**
   * Numbers a change and hands it to every subscriber. A subscriber that throws never breaks the
   * write that made the change (it has landed): its error is reported the way the platform
   * reports uncaught errors.
   */
  publish(change: NewChange, durable: boolean): void {
    const numbered = { ...change, seq: durable ? this.nextSeq++ : this.nextSeq - 1 } as EntryChange
    for (const subscriber of this.subscribers) {
      try {
        subscriber(numbered)
      } catch (error) {
        reportSubscriberError(error)
      }
    }
  }
}

export function reportSubscriberError(error: unknown): void {
  const report = (globalThis as { reportError?: (e: unknown) => void }).reportError
  if (typeof report === 'function') report(error)
  else
    queueMicrotask(() => {
      throw error
    })
}

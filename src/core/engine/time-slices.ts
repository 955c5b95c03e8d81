import { nextTurn } from './next-turn.ts'

/**
 * Background work in slices. A loop that runs many items on one turn (laying out blocks,
 * appending them, taking IndexedDB results, flipping entries) asks `due` between items and,
 * once its slice has run past the budget, awaits `pause()`: one turn of the event loop, so a
 * read that arrived as a message meanwhile is answered before the loop goes on. Why a time
 * budget rather than a fixed count: an item's cost varies by tens of times (a 64 KiB block vs
 * a small record; an idle machine vs a busy one), and a read should wait at most one slice.
 */

/** How long background work runs before it lets a waiting read in: a quarter of a 60 Hz frame. */
export const SLICE_MS = 4

export class TimeSlices {
  private started: number

  constructor(
    private readonly now: () => number = defaultNow,
    private readonly budgetMs = SLICE_MS,
  ) {
    this.started = now()
  }

  /** This slice has used its budget: pause before the next item. */
  get due(): boolean {
    return this.now() - this.started >= this.budgetMs
  }

  /** Lets the event loop run once, then starts a new slice. */
  async pause(): Promise<void> {
    await yieldToReads()
    this.started = this.now()
  }

  /** Pauses if the slice is due (await it only then: most items need no turn of their own). */
  pace(): Promise<void> | undefined {
    return this.due ? this.pause() : undefined
  }
}

type PostTask = (callback: () => void, options: { priority: 'background' }) => Promise<unknown>

/**
 * One turn of the event loop, after every task already waiting, reads included. Where the
 * platform has prioritized task scheduling (Chromium's `scheduler.postTask`, windows and
 * workers), background work resumes at background priority: a read that arrives while the
 * work is paused runs first, even if it arrived after the pause began.
 */
export function yieldToReads(): Promise<void> {
  const postTask = (globalThis as { scheduler?: { postTask?: PostTask } }).scheduler?.postTask
  if (typeof postTask !== 'function') return nextTurn()
  return new Promise((resolve) => {
    void postTask.call((globalThis as { scheduler?: unknown }).scheduler, resolve, { priority: 'background' })
  })
}

/** A monotonic clock where the platform has one (every runtime tiermem runs on does). */
function defaultNow(): number {
  return typeof performance === 'undefined' ? Date.now() : performance.now()
}

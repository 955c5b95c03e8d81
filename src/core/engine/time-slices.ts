import { foreground } from './foreground.ts'
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

/**
 * How long background work waits, at most, for reads to stop before it runs its next slice
 * anyway, so it never starves however busy the reads. Measured on 2 cores, hot gets back to back
 * during a 10k warm → cold move: waiting up to 50 ms left the reads' p99 at 11× idle, 200 ms at
 * 1.9×, and made the move 2.9× slower while the reads ran.
 */
export const GIVE_WAY_MS = 200

/**
 * Reads this close together count as still coming. One timer: browsers hold nested timers to
 * at least 4 ms anyway.
 */
const QUIET_MS = 4

export interface TimeSliceOptions {
  /**
   * Housekeeping nobody waits for (idle demotion, archiving, backups): at a pause it also waits
   * while reads keep arriving, up to GIVE_WAY_MS, unless a call is queued on a lane behind it.
   * On 2 cores a move's threads (compressors, IndexedDB, the engine's slices) left reads with a
   * p99 30–60× idle even when each slice was short: the reads waited for the OS to run them.
   */
  background?: boolean
  now?: () => number
  budgetMs?: number
  /** Waits `ms` (tests pass their own). */
  sleep?: (ms: number) => Promise<void>
}

export class TimeSlices {
  private started: number
  /** Reads counted when this work last looked: more since then means reads are coming. */
  private seenReads = foreground.reads
  /** Reads had arrived when this work last paused. */
  private readsAtPause = false
  private readonly background: boolean
  private readonly now: () => number
  private readonly budgetMs: number
  private readonly sleep: (ms: number) => Promise<void>

  constructor(options: TimeSliceOptions = {}) {
    this.background = options.background ?? false
    this.now = options.now ?? defaultNow
    this.budgetMs = options.budgetMs ?? SLICE_MS
    this.sleep = options.sleep ?? defaultSleep
    this.started = this.now()
  }

  /** This slice has used its budget: pause before the next item. */
  get due(): boolean {
    return this.now() - this.started >= this.budgetMs
  }

  /** Lets the event loop run once (background work: until reads stop, or GIVE_WAY_MS), then starts a new slice. */
  async pause(): Promise<void> {
    await yieldToReads()
    if (this.background) await this.giveWay()
    this.started = this.now()
  }

  /**
   * Background work only: reads are arriving (since this work last paused, or at that pause). A
   * slice's own reads cannot be counted while it runs: the thread takes them between tasks.
   */
  get readsComing(): boolean {
    return this.background && (this.readsAtPause || foreground.reads !== this.seenReads)
  }

  /** Pauses if the slice is due (await it only then: most items need no turn of their own). */
  pace(): Promise<void> | undefined {
    return this.due ? this.pause() : undefined
  }

  /**
   * Waits while reads keep arriving. Not while a call waits on a lane: housekeeping that holds a
   * lane (a move, an archive) is then in that call's way, and the sooner it ends the better.
   */
  private async giveWay(): Promise<void> {
    this.readsAtPause = foreground.reads !== this.seenReads
    const deadline = this.now() + GIVE_WAY_MS
    while (foreground.reads !== this.seenReads && foreground.queued === 0 && this.now() < deadline) {
      this.seenReads = foreground.reads
      await this.sleep(QUIET_MS)
    }
    this.seenReads = foreground.reads
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

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** A monotonic clock where the platform has one (every runtime tiermem runs on does). */
function defaultNow(): number {
  return typeof performance === 'undefined' ? Date.now() : performance.now()
}

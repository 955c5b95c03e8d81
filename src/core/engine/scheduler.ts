import type { Scheduler } from '../api/types.ts'
import { reportUncaught } from './report-uncaught.ts'

/**
 * When the engine's background work runs: maintenance, pressure checks and the wait of a scope
 * opened under pressure. The default is the platform's timers; a Durable Object passes one
 * driven by alarms, and tests pass fake time so nothing sleeps (MemoryOptions.scheduler).
 */

export const PLATFORM_SCHEDULER: Scheduler = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
}

/** The timers one engine has set: close() cancels every one, so none outlives the memory. */
export class EngineTimers {
  private readonly live = new Set<unknown>()
  private stopped = false

  constructor(private readonly scheduler: Scheduler) {}

  /** Runs `fn` once after `ms`. Returns a cancel function. */
  after(ms: number, fn: () => void): () => void {
    const handle = this.set(ms, fn)
    return () => {
      if (this.live.delete(handle)) this.scheduler.clearTimeout(handle)
    }
  }

  /**
   * Runs `task` every `ms`, the next run set only once this one has settled (a slow gc never piles
   * runs up). `task` reports its own failures; one that escapes is reported as uncaught and the
   * loop goes on. Background upkeep must not keep a Node process
   * alive: these timers are unref'd where the platform has that.
   */
  every(ms: number, task: () => Promise<void>): void {
    const tick = () => {
      void task()
        .catch(reportUncaught)
        .finally(() => {
          if (!this.stopped) unref(this.set(ms, tick))
        })
    }
    unref(this.set(ms, tick))
  }

  /** Cancels every timer and stops the loops. */
  cancelAll(): void {
    this.stopped = true
    for (const handle of this.live) this.scheduler.clearTimeout(handle)
    this.live.clear()
  }

  /** Timers set and not yet run or cancelled. */
  get pending(): number {
    return this.live.size
  }

  private set(ms: number, fn: () => void): unknown {
    if (this.stopped) return undefined
    const handle = this.scheduler.setTimeout(() => {
      this.live.delete(handle)
      fn()
    }, ms)
    this.live.add(handle)
    return handle
  }
}

function unref(handle: unknown): void {
  ;(handle as { unref?: () => void } | undefined)?.unref?.()
}

/**
 * What callers are doing on this thread, which background work gives way to (TimeSlices).
 * Thread-wide, not per memory: every memory open on a thread shares its one event loop, so a
 * read of one waits for the background work of any.
 */
export const foreground = {
  /** Reads taken so far (counted, not timed: a hot get pays one increment). */
  reads: 0,
  /** Lane tasks queued and not started yet, on every memory's lane on this thread. */
  queued: 0,
}

/** Notes a read: background work that sees reads arriving waits for a gap in them. */
export function noteRead(): void {
  foreground.reads++
}

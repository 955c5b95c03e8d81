/**
 * Reports an error nobody awaits (a subscriber or handler that threw, a background loop's task)
 * the way the platform reports uncaught errors: reportError where it exists (browsers, Deno,
 * workerd), else an uncaught exception in a microtask. Never swallowed, never in the way of the
 * write or the loop that ran into it.
 */
export function reportUncaught(error: unknown): void {
  const report = (globalThis as { reportError?: (e: unknown) => void }).reportError
  if (typeof report === 'function') report(error)
  else
    queueMicrotask(() => {
      throw error
    })
}

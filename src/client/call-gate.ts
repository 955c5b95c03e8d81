import { TiermemError } from '../core/api/errors.ts'

/**
 * Whether the page may still call the worker, and the calls in flight: refused after close, and
 * all rejected with WORKER_LOST when the worker dies, so no call ever hangs.
 *
 * Calls in flight are a set of rejecters, not Promise.race with a lifelong `lost` promise: each
 * race leaves a reaction on `lost` that lives as long as the worker does, and through it the
 * race's promise and the value it settled with — every value ever read stayed reachable from the
 * page (a leak test/worker/host-client.test.ts checks with a WeakRef).
 */
export class CallGate {
  state: 'open' | 'closed' | 'lost' = 'open'
  private readonly inFlight = new Set<(error: unknown) => void>()
  private lostError: TiermemError | undefined

  /** Why a call is refused now (closed, or the worker is lost), or undefined while open. */
  refused(): Promise<never> | undefined {
    if (this.state === 'closed') return Promise.reject(new TiermemError('CLOSED', 'this memory is closed; open it again to use it'))
    if (this.state === 'lost') return Promise.reject(this.lostError)
    return undefined
  }

  /** The call's own outcome, or WORKER_LOST if the worker dies first. */
  unlessLost<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.inFlight.add(reject)
      promise.then(
        (value) => (this.inFlight.delete(reject), resolve(value)),
        (error: unknown) => (this.inFlight.delete(reject), reject(error)),
      )
    })
  }

  /** The worker is gone: every pending and later call rejects with WORKER_LOST. False if it was already lost. */
  lose(why: string): TiermemError | undefined {
    // Also while closing: a worker that dies then must not leave close() waiting for an answer.
    if (this.state === 'lost') return undefined
    this.state = 'lost'
    const error = new TiermemError('WORKER_LOST', `the tiermem worker stopped (${why}); open the memory again — everything committed is kept`)
    this.lostError = error
    for (const reject of this.inFlight) reject(error)
    this.inFlight.clear()
    return error
  }
}

import { foreground } from './foreground.ts'

/**
 * Runs mutation tasks one at a time, in arrival order. Every change to the registry and the
 * stores goes through the lane, so a tier move can read, write and flip without another write
 * slipping in between. A task's failure rejects only that task.
 *
 * Each task gets a ticket (1, 2, …) in the order it was queued, and tasks settle in ticket order:
 * `done(ticket)` tells whether a write issued earlier has landed. Reads use it to keep issue
 * order: a read that an earlier write has not reached yet runs as the lane's next task instead
 * of at once (see read-order.ts).
 */
export class WriteLane {
  private tail: Promise<unknown> = Promise.resolve()
  private pending = 0
  /** The ticket of the last task queued (0: none yet). */
  issued = 0
  /** Every task with a ticket up to this one has settled. */
  private settled = 0

  run<T>(task: () => Promise<T> | T): Promise<T> {
    const ticket = ++this.issued
    this.pending++
    // Counted while it waits: background work holding a lane hurries rather than give way to reads.
    foreground.queued++
    const result = this.tail.then(() => {
      foreground.queued--
      return task()
    })
    const finish = () => {
      this.pending--
      this.settled = ticket
    }
    this.tail = result.then(finish, finish)
    return result
  }

  /** Whether the task with this ticket (and every one before it) has settled. */
  done(ticket: number): boolean {
    return ticket <= this.settled
  }

  /** Resolves once every task queued so far has finished. */
  async idle(): Promise<void> {
    while (this.pending > 0) await this.tail
  }
}

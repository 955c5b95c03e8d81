/**
 * Runs mutation tasks one at a time, in arrival order. Every change to the registry and the
 * stores goes through the lane, so a tier move can read, write and flip without another write
 * slipping in between; reads never wait for it. A task's failure rejects only that task.
 */
export class WriteLane {
  private tail: Promise<unknown> = Promise.resolve()
  private pending = 0

  run<T>(task: () => Promise<T> | T): Promise<T> {
    this.pending++
    const result = this.tail.then(task)
    const settled = result.then(
      () => this.pending--,
      () => this.pending--,
    )
    this.tail = settled
    return result
  }

  /** Resolves once every task queued so far has finished. */
  async idle(): Promise<void> {
    while (this.pending > 0) await this.tail
  }
}

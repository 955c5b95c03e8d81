import { describe, expect, it } from 'vitest'
import { TimeSlices, yieldToReads } from '../../src/core/engine/time-slices.ts'

/** A read as the engine's worker gets one: a message, here on a channel of the test's own. */
function readArriving(order: string[]): Promise<void> {
  const channel = new MessageChannel()
  const answered = new Promise<void>((resolve) => {
    channel.port1.onmessage = () => {
      order.push('read')
      channel.port1.close()
      resolve()
    }
  })
  channel.port2.postMessage('get')
  return answered
}

describe('background work yields to reads (Chromium: scheduler.postTask at background priority)', () => {
  it('a read that arrives after the pause began still runs before the work resumes', async () => {
    const order: string[] = []
    const work = yieldToReads().then(() => order.push('work'))
    const read = readArriving(order)
    await Promise.all([work, read])
    expect(order).toEqual(['read', 'work'])
  })

  it('a sliced loop lets every read queued meanwhile in before its next slice', async () => {
    const order: string[] = []
    let now = 0
    const slices = new TimeSlices({ now: () => now, budgetMs: 4 })
    const reads: Promise<void>[] = []
    for (let item = 0; item < 12; item++) {
      now += 1
      // A read arrives during every item of work.
      reads.push(readArriving(order))
      const pausing = slices.pace()
      if (pausing) {
        await pausing
        order.push('slice')
      }
    }
    await Promise.all(reads)
    // Each pause lets in every read that had arrived: none waits behind a second slice.
    expect(order.filter((o) => o === 'slice')).toHaveLength(3)
    expect(order.indexOf('slice')).toBe(4)
    expect(order.slice(0, order.lastIndexOf('slice')).filter((o) => o === 'read')).toHaveLength(12)
  })
})

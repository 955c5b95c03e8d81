import { describe, expect, it } from 'vitest'
import { GIVE_WAY_MS, SLICE_MS, TimeSlices } from '../../src/core/engine/time-slices.ts'
import { foreground, noteRead } from '../../src/core/engine/foreground.ts'
import { WriteLane } from '../../src/core/engine/write-lane.ts'

/** A clock the test moves by hand. */
const manualClock = () => {
  let now = 0
  return { now: () => now, advance: (ms: number) => (now += ms) }
}

describe('TimeSlices: background work pauses once its slice has run past the budget', () => {
  it('is due only once the budget is used, and a pause starts a new slice', async () => {
    const clock = manualClock()
    const slices = new TimeSlices({ now: clock.now, budgetMs: 4 })
    expect(slices.due).toBe(false)
    expect(slices.pace()).toBeUndefined()
    clock.advance(3.9)
    expect(slices.due).toBe(false)
    clock.advance(0.1)
    expect(slices.due).toBe(true)
    const pausing = slices.pace()
    expect(pausing).toBeInstanceOf(Promise)
    await pausing
    expect(slices.due).toBe(false)
    clock.advance(4)
    expect(slices.due).toBe(true)
  })

  it('lets work queued meanwhile run between slices of a loop that never awaits anything else', async () => {
    const clock = manualClock()
    const slices = new TimeSlices({ now: clock.now })
    let readAnswered = -1
    // A read that arrives while the loop runs, as a task of its own.
    setTimeout(() => (readAnswered = done), 0)
    let done = 0
    for (; done < 200; done++) {
      clock.advance(1) // each item takes 1 ms
      await slices.pace()
    }
    expect(readAnswered).toBeGreaterThan(0)
    expect(readAnswered).toBeLessThan(200)
  })

  it('runs on the platform clock when none is given', () => {
    const slices = new TimeSlices()
    expect(slices.due).toBe(false)
    const started = performance.now()
    while (performance.now() - started < SLICE_MS + 1) {
      // spin: the work of one slice
    }
    expect(slices.due).toBe(true)
  })
})

describe('TimeSlices: background work gives way while reads keep arriving', () => {
  /**
   * Slices on a clock the test moves, whose sleeps move it and let `during` act as if reads came
   * in meanwhile. `slept()`: how long they have waited in all.
   */
  const slicesWith = (during: (sleptMs: number) => void, background = true) => {
    const clock = manualClock()
    let slept = 0
    const sleep = async (ms: number) => {
      clock.advance(ms)
      slept += ms
      during(slept)
    }
    return { slices: new TimeSlices({ background, now: clock.now, sleep }), slept: () => slept }
  }

  it('waits at a pause until the reads stop, then goes on', async () => {
    // Reads keep arriving for the first 30 ms of waiting, then stop.
    const { slices, slept } = slicesWith((slept) => slept <= 30 && noteRead())
    noteRead()
    noteRead()
    await slices.pause()
    // Waited through the reads and one quiet interval after them; no longer.
    expect(slept()).toBeGreaterThan(30)
    expect(slept()).toBeLessThan(40)
    expect(slices.due).toBe(false)
  })

  it('never waits longer than GIVE_WAY_MS, however the reads go on: the work cannot starve', async () => {
    const { slices, slept } = slicesWith(() => noteRead())
    noteRead()
    await slices.pause()
    expect(slept()).toBeGreaterThanOrEqual(GIVE_WAY_MS)
    expect(slept()).toBeLessThan(GIVE_WAY_MS + 10)
    // The next pause waits again, as long at most: a slice goes through between them.
    await slices.pause()
    expect(slept()).toBeLessThan(2 * GIVE_WAY_MS + 20)
  })

  it('does not wait when no read came since it last looked', async () => {
    const { slices, slept } = slicesWith(() => undefined)
    await slices.pause()
    expect(slept()).toBe(0)
    expect(slices.readsComing).toBe(false)
  })

  it('does not wait while a call is queued on a lane behind it: that call needs the work done', async () => {
    const { slices, slept } = slicesWith(() => noteRead())
    const lane = new WriteLane()
    let release!: () => void
    const holding = lane.run(() => new Promise<void>((resolve) => (release = resolve)))
    const queued = lane.run(() => 'a write')
    await Promise.resolve() // the first task has started; the second waits
    expect(foreground.queued).toBe(1)
    noteRead()
    await slices.pause()
    expect(slept()).toBe(0)
    release()
    await Promise.all([holding, queued])
    expect(foreground.queued).toBe(0)
  })

  it('foreground work (a caller waits for it) never waits for reads', async () => {
    const { slices, slept } = slicesWith(() => noteRead(), false)
    noteRead()
    await slices.pause()
    expect(slept()).toBe(0)
    expect(slices.readsComing).toBe(false)
  })

  it('says reads are coming from its last pause on, though none can be counted during a slice', async () => {
    let reading = true
    const { slices } = slicesWith(() => reading && noteRead())
    noteRead()
    expect(slices.readsComing).toBe(true)
    const pausing = slices.pause()
    reading = false
    await pausing
    // The pause saw reads; the slice after it is still run as sharing the thread with them.
    expect(slices.readsComing).toBe(true)
    await slices.pause()
    expect(slices.readsComing).toBe(false)
  })
})

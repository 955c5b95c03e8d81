import { describe, expect, it } from 'vitest'
import { SLICE_MS, TimeSlices } from '../../src/core/engine/time-slices.ts'

/** A clock the test moves by hand. */
const manualClock = () => {
  let now = 0
  return { now: () => now, advance: (ms: number) => (now += ms) }
}

describe('TimeSlices: background work pauses once its slice has run past the budget', () => {
  it('is due only once the budget is used, and a pause starts a new slice', async () => {
    const clock = manualClock()
    const slices = new TimeSlices(clock.now, 4)
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
    const slices = new TimeSlices(clock.now)
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

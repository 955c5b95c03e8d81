import type { Scheduler } from '../../core/api/types.ts'

/** What wakes the object at a time: its storage's alarm, or another alarm user's own scheduling (an Agent's). */
export interface AlarmSetter {
  setAlarm(scheduledTime: number): Promise<unknown>
}

/**
 * The engine's scheduler on a Durable Object's alarm. Why not setTimeout: an idle object is
 * evicted from memory with its timers, and nothing would run its maintenance again until the next
 * request. An alarm is stored with the object and wakes it. The object's `alarm()` calls `run()`;
 * the earliest pending timer is always the one the alarm is set for. Where something else owns
 * the alarm (an Agents SDK agent schedules its own tasks on it), pass its scheduling instead.
 */
export class AlarmScheduler implements Scheduler {
  private readonly timers = new Map<number, { at: number; fn: () => void }>()
  private nextId = 1
  /** The time the stored alarm is set for (undefined: none set by this instance). */
  private armedAt: number | undefined

  constructor(
    private readonly alarm: AlarmSetter,
    private readonly now: () => number = () => Date.now(),
  ) {}

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++
    this.timers.set(id, { at: this.now() + Math.max(0, ms), fn })
    this.arm()
    return id
  }

  clearTimeout(handle: unknown): void {
    if (this.timers.delete(handle as number)) this.arm()
  }

  /** Timers waiting to run. */
  get pending(): number {
    return this.timers.size
  }

  /** Runs every timer that is due (the alarm's handler), then sets the alarm for the next one. */
  run(): void {
    this.armedAt = undefined
    const now = this.now()
    for (const [id, timer] of [...this.timers]) {
      if (timer.at > now) continue
      this.timers.delete(id)
      timer.fn()
    }
    this.arm()
  }

  private arm(): void {
    let earliest = Infinity
    for (const { at } of this.timers.values()) earliest = Math.min(earliest, at)
    if (earliest === Infinity) return
    if (this.armedAt !== undefined && this.armedAt <= earliest) return
    this.armedAt = earliest
    // Alarm writes are output-gated by the runtime; a failure only delays upkeep to the next request.
    this.alarm.setAlarm(earliest).catch((error: unknown) => console.error('tiermem: setting the maintenance alarm failed', error))
  }
}

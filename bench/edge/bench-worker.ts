import { DurableObject } from 'cloudflare:workers'
import { openDurableObjectMemory, type DurableObjectState } from '../../src/edge/cloudflare/index.ts'
import type { Memory } from '../../src/core/api/types.ts'

/**
 * The Durable Object side of the edge bench. Each method does all of one round's work inside the
 * object, so the one RPC call that starts it is the only crossing; Node times the call (workerd
 * stops its clocks between I/O, so the object cannot time itself).
 */
interface Item {
  key: string
  value: { i: number; text: string }
}

const items = (n: number, bytes: number, round: number): Item[] =>
  Array.from({ length: n }, (_, i) => ({ key: `r${round}-${i}`, value: { i, text: `note ${i} of round ${round} `.padEnd(bytes, '.') } }))

export class BenchObject extends DurableObject {
  #memory: Promise<Memory> | undefined

  private memory(): Promise<Memory> {
    // Maintenance off: the rounds measure the calls, not background upkeep landing inside them.
    this.#memory ??= openDurableObjectMemory(this.ctx as DurableObjectState, { maintenanceIntervalMs: 0, policy: { defaultLayer: 'assets' } }).then(
      (opened) => opened.memory,
    )
    return this.#memory
  }

  /** The engine's timers ride the object's alarm; the bench switches maintenance off but pressure checks still set one. */
  async alarm(): Promise<void> {}

  async warmUp(): Promise<void> {
    await this.memory()
  }

  /** tiermem: n puts, each awaited as a caller awaits its write. */
  async tiermemPuts(n: number, bytes: number, round: number): Promise<number> {
    const memory = await this.memory()
    for (const { key, value } of items(n, bytes, round)) await memory.put(key, value)
    return n
  }

  /** tiermem: n puts issued together, as an agent's tool calls land (one group commit). */
  async tiermemPutsTogether(n: number, bytes: number, round: number): Promise<number> {
    const memory = await this.memory()
    return (await Promise.all(items(n, bytes, round).map(({ key, value }) => memory.put(`t:${key}`, value)))).length
  }

  async barePutsTogether(n: number, bytes: number, round: number): Promise<number> {
    const storage = (this.ctx as unknown as { storage: { put(key: string, value: unknown): Promise<void> } }).storage
    await Promise.all(items(n, bytes, round).map(({ key, value }) => storage.put(`bare-t:${key}`, value)))
    return n
  }

  async tiermemGets(n: number, bytes: number, round: number): Promise<number> {
    const memory = await this.memory()
    let found = 0
    for (const { key } of items(n, bytes, round)) if ((await memory.get(key)) !== undefined) found++
    return found
  }

  /** The same work on the bare Durable Object storage API. */
  async barePuts(n: number, bytes: number, round: number): Promise<number> {
    const storage = (this.ctx as unknown as { storage: { put(key: string, value: unknown): Promise<void> } }).storage
    for (const { key, value } of items(n, bytes, round)) await storage.put(`bare:${key}`, value)
    return n
  }

  async bareGets(n: number, bytes: number, round: number): Promise<number> {
    const storage = (this.ctx as unknown as { storage: { get(key: string): Promise<unknown> } }).storage
    let found = 0
    for (const { key } of items(n, bytes, round)) if ((await storage.get(`bare:${key}`)) !== undefined) found++
    return found
  }
}

export default { fetch: () => new Response('bench') }

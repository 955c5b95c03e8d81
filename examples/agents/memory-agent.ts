// An Agents SDK agent with tiered memory on its own SQLite storage: no second Durable Object.
import { Agent, routeAgentRequest } from 'agents'
import { AlarmScheduler, openDurableObjectMemory, type DurableObjectState } from 'tiermem/edge/cloudflare'
import type { Memory } from 'tiermem/core'

export class MemoryAgent extends Agent<Record<string, unknown>> {
  // The agent owns the object's alarm (this.schedule); tiermem's upkeep rides on it.
  readonly #upkeep = new AlarmScheduler({ setAlarm: (at) => this.schedule(new Date(at), 'tiermemUpkeep') })
  #memory: Promise<Memory> | undefined

  /** Opened on first use: by then the agent has its name, which schedule() needs. */
  memory(): Promise<Memory> {
    this.#memory ??= openDurableObjectMemory(this.ctx as unknown as DurableObjectState, { scheduler: this.#upkeep }).then((opened) => opened.memory)
    return this.#memory
  }

  async tiermemUpkeep(): Promise<void> {
    this.#upkeep.run()
  }

  async remember(key: string, value: unknown, ttlMs?: number) {
    return (await this.memory()).put(key, value, { layer: 'insights', ...(ttlMs ? { ttlMs } : {}) })
  }

  async recallValue(key: string): Promise<unknown> {
    return (await this.memory()).get(key)
  }
}

export default {
  async fetch(request: Request, env: Record<string, unknown>): Promise<Response> {
    return (await routeAgentRequest(request, env)) ?? new Response('not found', { status: 404 })
  },
}

import { DurableObject } from 'cloudflare:workers'
import type { EntryInfo, Memory, MemoryStats, PutOptions, RecallHit, RecallOptions } from '../../core/api/types.ts'
import { routeOf, serveMemory } from '../http-api.ts'
import { errorResponse, HttpError } from '../http-errors.ts'
import { openDurableObjectMemory, type DurableObjectMemory, type DurableObjectMemoryOptions } from './durable-object-memory.ts'
import type { DurableObjectState } from './platform.ts'
import { maxBodyBytes, type TiermemEnv } from './worker-env.ts'

/**
 * One agent namespace's memory: a Durable Object hosting the engine over its own SQLite storage,
 * strongly consistent because one object serves the namespace. The Worker in front (createHandler)
 * authorizes and forwards the HTTP API here; other Workers may call its methods over RPC instead.
 * Subclass it and override `memoryOptions()` for budgets and policies.
 */
export class TiermemObject<Env extends TiermemEnv = TiermemEnv> extends DurableObject<Env> {
  private readonly opened: Promise<DurableObjectMemory>
  /** The object's state (`ctx`), typed. */
  protected readonly state: DurableObjectState

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.state = ctx
    const options = this.memoryOptions()
    const withBucket = env.TIERMEM_COLD && options.r2 === undefined ? { ...options, r2: env.TIERMEM_COLD } : options
    // Opened inside blockConcurrencyWhile, not beside it: requests wait until the registry is
    // loaded, and I/O started in the constructor outside it did not complete (seen in workerd:
    // an R2 listing of the cold tier hung until the runtime reset the object).
    this.opened = ctx.blockConcurrencyWhile(() => openDurableObjectMemory(ctx, withBucket))
    // A failed open resets the object; each call still sees the failure through `opened`.
    this.opened.catch(() => undefined)
  }

  /** Options for the engine; override in a subclass. */
  protected memoryOptions(): DurableObjectMemoryOptions {
    return {}
  }

  /** The engine of this object, for subclasses and RPC callers that need all of it. */
  protected async memory(): Promise<Memory> {
    return (await this.opened).memory
  }

  async fetch(request: Request): Promise<Response> {
    try {
      const route = routeOf(new URL(request.url))
      if (!route) throw new HttpError(404, 'NOT_FOUND', 'no such route: see the HTTP API in the README')
      return await serveMemory(await this.memory(), request, route, maxBodyBytes(this.env))
    } catch (error) {
      return errorResponse(error)
    }
  }

  /** The alarm runs the engine's maintenance (gc, tier moves, pressure checks) even while no request comes. */
  async alarm(): Promise<void> {
    ;(await this.opened).scheduler?.run()
  }

  // In-process calls from another Worker over RPC (no HTTP, no JSON): the same engine calls.
  async put(key: string, value: unknown, options?: PutOptions): Promise<EntryInfo> {
    return (await this.memory()).put(key, value, options)
  }

  async get(key: string, options?: { namespace?: string }): Promise<unknown> {
    return (await this.memory()).get(key, options)
  }

  async getEntry(key: string, options?: { namespace?: string }): Promise<EntryInfo | undefined> {
    return (await this.memory()).getEntry(key, options)
  }

  async delete(key: string, options?: { namespace?: string }): Promise<boolean> {
    return (await this.memory()).delete(key, options)
  }

  async putMany(items: Array<{ key: string; value: unknown } & PutOptions>): Promise<EntryInfo[]> {
    return (await this.memory()).putMany(items)
  }

  async getMany(keys: string[], options?: { namespace?: string }): Promise<unknown[]> {
    return (await this.memory()).getMany(keys, options)
  }

  async query(filter?: Parameters<Memory['query']>[0]): Promise<EntryInfo[]> {
    return (await this.memory()).query(filter)
  }

  async recall(query: string | Float32Array, options?: RecallOptions): Promise<RecallHit[]> {
    return (await this.memory()).recall(query, options)
  }

  async stats(): Promise<MemoryStats> {
    return (await this.memory()).stats()
  }
}

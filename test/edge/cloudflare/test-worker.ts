import { DurableObject } from 'cloudflare:workers'
import type { Store } from '../../../src/core/store/store.ts'
import { compressedStore } from '../../../src/stores/compressed-store.ts'
import {
  createHandler,
  durableObjectSqlStore,
  r2Store,
  type R2Bucket,
  TiermemObject,
  type DurableObjectMemoryOptions,
  type DurableObjectState,
  type TiermemEnv,
} from '../../../src/edge/cloudflare/index.ts'

/**
 * The Worker the edge tests load into workerd (Miniflare): tiermem's object and handler as a user
 * deploys them, an object whose maintenance runs every 200 ms, and a host that runs stores inside
 * workerd for the contract suite, whose assertions run in Node.
 */
export { TiermemObject }

export class QuickObject extends TiermemObject {
  protected override memoryOptions(): DurableObjectMemoryOptions {
    return { maintenanceIntervalMs: 200 }
  }

  /** Rows of one of the object's tables: what maintenance removed is gone from storage, not only hidden. */
  rows(table: string, space: string): string[] {
    return this.state.storage.sql
      .exec(`SELECT key FROM ${table} WHERE space = ? AND part = 0 ORDER BY key`, space)
      .toArray()
      .map((row) => row['key'] as string)
  }

  async alarmAt(): Promise<number | null> {
    return this.state.storage.getAlarm()
  }

  /** Throws the object out of memory as the runtime does when it evicts it. */
  evict(): void {
    this.state.abort('evicted by the test')
  }

  /**
   * Puts and deletes issued together at the object, each issued before the one before it is
   * answered. From the test in Node they cannot be: each stub call is an HTTP request of its
   * own through Miniflare's proxy, and those may reach the object in any order.
   */
  async together(calls: Array<{ put: string; value: unknown } | { delete: string }>): Promise<void> {
    await Promise.all(calls.map((call) => ('put' in call ? this.put(call.put, call.value, { layer: 'assets' }) : this.delete(call.delete))))
  }
}

/** A TiermemObject whose cold tier is the COLD_R2 bucket. */
export class R2Object extends TiermemObject<TiermemEnv & { COLD_R2: R2Bucket }> {
  protected override memoryOptions(): DurableObjectMemoryOptions {
    return { r2: this.env.COLD_R2, maintenanceIntervalMs: 0 }
  }

  /** Object names in the bucket: the cold tier's records are there, not in SQLite. */
  async bucketKeys(): Promise<string[]> {
    return (await this.env.COLD_R2.list({ limit: 1000 })).objects.map((o) => o.key)
  }

  coldRows(): number {
    return this.state.storage.sql.exec(`SELECT name FROM sqlite_master WHERE name = 'tiermem_cold'`).toArray().length === 0
      ? 0
      : Number(this.state.storage.sql.exec(`SELECT count(*) AS n FROM tiermem_cold`).one()['n'])
  }

  evict(): void {
    this.state.abort('evicted by the test')
  }
}

export class StoreHost extends DurableObject<{ CONTRACT_R2: R2Bucket }> {
  private readonly stores = new Map<number, Store>()
  private next = 1

  open(table: string, compressed: boolean, r2 = false): { id: number; backend: string; capabilities: Store['capabilities'] } {
    const plain = r2 ? r2Store(this.env.CONTRACT_R2, { prefix: table }) : durableObjectSqlStore((this.ctx as DurableObjectState).storage, { table })
    const store = compressed ? compressedStore(plain) : plain
    const id = this.next++
    this.stores.set(id, store)
    return { id, backend: store.backend, capabilities: store.capabilities }
  }

  async call(id: number, method: 'getMany' | 'batch' | 'scan' | 'keys' | 'stats' | 'close', args: unknown[]): Promise<unknown> {
    const store = this.stores.get(id)!
    try {
      return { ok: await (store[method] as (...a: unknown[]) => Promise<unknown>)(...args) }
    } catch (error) {
      const e = error as { code?: string; message?: string; name?: string }
      return { error: { name: e.name, code: e.code, message: e.message } }
    }
  }
}

export default createHandler() satisfies { fetch(request: Request, env: TiermemEnv & Record<string, unknown>): Promise<Response> }

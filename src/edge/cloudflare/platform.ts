/**
 * The parts of the Workers runtime tiermem uses, by shape. Why not @cloudflare/workers-types: it
 * declares a whole global scope (Request, caches, …) that clashes with the DOM library the rest
 * of the package is checked against, and users' projects bring their own copy anyway.
 */

export interface SqlCursor {
  toArray(): Array<Record<string, unknown>>
  one(): Record<string, unknown>
}

export interface SqlStorage {
  exec(query: string, ...bindings: unknown[]): SqlCursor
}

export interface DurableObjectStorage {
  readonly sql: SqlStorage
  transactionSync<T>(fn: () => T): T
  getAlarm(): Promise<number | null>
  setAlarm(scheduledTime: number): Promise<void>
  deleteAlarm(): Promise<void>
}

export interface DurableObjectState {
  readonly id: { toString(): string }
  readonly storage: DurableObjectStorage
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>
  /** Resets the object, as the runtime does when it evicts one. */
  abort(reason?: string): void
}

export interface DurableObjectStub {
  fetch(request: Request): Promise<Response>
}

export interface DurableObjectNamespace {
  idFromName(name: string): unknown
  get(id: unknown): DurableObjectStub
}

/** An R2 bucket binding, as far as the cold store uses it. */
export interface R2Bucket {
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>
  put(key: string, value: Uint8Array): Promise<unknown>
  delete(keys: string | string[]): Promise<void>
  list(options: { prefix?: string; startAfter?: string; cursor?: string; limit?: number }): Promise<{
    objects: Array<{ key: string; size: number }>
    truncated: boolean
    cursor?: string
  }>
}

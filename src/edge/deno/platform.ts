/**
 * The parts of Deno KV tiermem uses, by shape: the package is type-checked without Deno's
 * globals, and a user's `Deno.openKv()` result fits these.
 */
export type KvKeyPart = string | number | bigint | boolean | Uint8Array
export type KvKey = readonly KvKeyPart[]

export interface KvEntryMaybe<T = unknown> {
  key: KvKey
  value: T | null
  versionstamp: string | null
}

export interface KvEntry<T = unknown> {
  key: KvKey
  value: T
  versionstamp: string
}

export type KvListSelector = { prefix: KvKey } | { prefix: KvKey; start: KvKey } | { prefix: KvKey; end: KvKey } | { start: KvKey; end: KvKey }

export interface AtomicOperation {
  set(key: KvKey, value: unknown): this
  delete(key: KvKey): this
  commit(): Promise<{ ok: boolean }>
}

export interface Kv {
  getMany(keys: readonly KvKey[]): Promise<KvEntryMaybe[]>
  list(selector: KvListSelector, options?: { limit?: number; batchSize?: number }): AsyncIterable<KvEntry>
  atomic(): AtomicOperation
  close(): void
}

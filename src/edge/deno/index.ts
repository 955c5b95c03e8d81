/**
 * `tiermem/edge/deno`: the engine over Deno KV, and the HTTP API of API.md for `Deno.serve`.
 *
 * @module tiermem/edge/deno
 */
export { denoKvStore, type DenoKvStoreOptions } from './kv-store.ts'
export { createHandler, type DenoHandler, type DenoHandlerOptions } from './handler.ts'
export { KV_LIMITS } from './kv-commits.ts'
export { parseTokens, type TokenMap } from '../tokens.ts'
export { TiermemError, ErrorCode } from '../../core/api/errors.ts'
export type { Kv, AtomicOperation, KvEntry, KvEntryMaybe, KvKey, KvKeyPart, KvListSelector } from './platform.ts'

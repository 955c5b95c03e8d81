/**
 * `tiermem/edge/deno`: the engine over Deno KV, and the HTTP API of API.md for `Deno.serve`.
 *
 * @module tiermem/edge/deno
 */
export { openDenoKvStore, type DenoKvStoreOptions } from './kv-store.ts'
export { createHandler, type DenoHandler, type DenoHandlerOptions } from './handler.ts'
export { KV_LIMITS } from './kv-commits.ts'
export { parseTokens } from '../tokens.ts'
export { TiermemError, ErrorCode } from '../../core/api/errors.ts'
export type { Kv } from './platform.ts'

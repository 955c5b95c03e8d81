/**
 * `tiermem/edge/cloudflare`: the engine in a Durable Object per agent namespace, with the HTTP API
 * of API.md in front. Runs in workerd (Cloudflare Workers, Miniflare, `wrangler dev`).
 *
 * @module tiermem/edge/cloudflare
 */
export { TiermemObject } from './tiermem-object.ts'
export type { TiermemEnv } from './worker-env.ts'
export { createHandler, type CloudflareHandlerOptions } from './handler.ts'
export { openDurableObjectMemory, DURABLE_OBJECT_HOT_BYTES, type DurableObjectMemory, type DurableObjectMemoryOptions } from './durable-object-memory.ts'
export { durableObjectSqlStore, PART_BYTES } from './sql-store.ts'
export { r2Store } from './r2-store.ts'
export { AlarmScheduler, type AlarmSetter } from './alarm-scheduler.ts'
export { parseTokens, type TokenMap } from '../tokens.ts'
export { TiermemError, ErrorCode } from '../../core/api/errors.ts'
export type { DurableObjectState, DurableObjectStorage, DurableObjectNamespace, DurableObjectStub, SqlStorage, SqlCursor, R2Bucket } from './platform.ts'

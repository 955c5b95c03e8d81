/**
 * `tiermem/core`: the platform-agnostic engine, in-process (Node, Deno, Workers, tests, your own worker).
 *
 * @module tiermem/core
 */
export { createMemory } from './api/open-engine.ts'
export { memoryStore, memoryStoreData, type MemoryStoreData } from './store/memory-store.ts'
export { TiermemError, ErrorCode, isTiermemError } from './api/errors.ts'
export { defaultLayers, defaultLifecyclePolicy, defaultPressurePolicy, DEFAULT_BUDGETS } from './lifecycle/policy.ts'
export type * from './api/types.ts'
// The one value among the types: `export type *` declared it for TypeScript but left it out of the JavaScript.
export { TIERS } from './api/types.ts'
export type { Store, StoreOp, StoreSpace, StoreCapabilities, StoreStats, ScanOptions, BatchOptions, CallOptions } from './store/store.ts'
export { memoryRecordFiles, type RecordFile, type RecordFiles } from './store/record-file.ts'
export type { Deflated, Deflater, FileSums } from './store/deflater.ts'
export type { Inflatable, Inflated, Inflater } from './store/inflater.ts'
export { fileSums } from './backup/file-sums.ts'

/** `tiermem/core`: the platform-agnostic engine, in-process (Node, Deno, Workers, tests, your own worker). */
export { createMemory } from './memory.ts'
export { memoryStore, memoryStoreData, type MemoryStoreData } from '../stores/memory-store.ts'
export { TiermemError, ErrorCode, isTiermemError } from './errors.ts'
export { defaultLayers, defaultLifecyclePolicy, defaultPressurePolicy, DEFAULT_BUDGETS } from './policy.ts'
export type * from './types.ts'
export type { Store, StoreOp, StoreSpace, StoreCapabilities, StoreStats, ScanOptions } from '../stores/store.ts'

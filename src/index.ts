/**
 * `tiermem`: the browser entry. `openMemory()` runs the tier engine in a dedicated worker over
 * IndexedDB and OPFS; the engine, stores and types of `tiermem/core` are exported here too.
 *
 * @module tiermem
 */
export { openMemory, type OpenMemoryEmbeddings, type OpenMemoryOptions } from './client/open-memory.ts'
export type { RemoteMemory } from './client/connect.ts'
export type { OpfsStoreOptions } from './stores/opfs-store.ts'
export type { DeflateLevel } from './stores/segment-format.ts'
export * from './core/index.ts'

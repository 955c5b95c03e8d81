import type { MemoryOptions } from '../core/api/types.ts'
import type { OpfsStoreOptions } from '../stores/opfs-store.ts'
import { connectMemory, type RemoteMemory } from './connect.ts'

export interface OpenMemoryOptions extends Omit<MemoryOptions, 'stores' | 'clock'> {
  /** Names the IndexedDB database and OPFS directory. Default 'default'. */
  name?: string
  /**
   * A worker running tiermem's worker entry, if you start it yourself (custom bundling, tests).
   * By default one is started with `new Worker(new URL(...), { type: 'module' })`, which Vite
   * and other bundlers follow.
   */
  worker?: Worker
  /** Tuning of the OPFS cold store: blockBytes (64 KiB), segmentBytes (8 MiB), level (6), compactDeadRatio (0.5), compressionThreads (2 on 2+ cores). */
  opfs?: Omit<OpfsStoreOptions, 'directory'>
}

/**
 * Opens a memory whose engine runs in a dedicated worker over IndexedDB (warm) and OPFS (cold).
 * Returns the same `Memory` interface as `createMemory()`; data persists across reloads and
 * browser restarts. `close()` stops the worker it started.
 */
export async function openMemory(options: OpenMemoryOptions = {}): Promise<RemoteMemory> {
  const { worker: given, name = 'default', ...engineOptions } = options
  const worker = given ?? new Worker(new URL('../../worker/tiermem.worker.ts', import.meta.url), { type: 'module', name: `tiermem:${name}` })
  try {
    return await connectMemory(worker, { ...engineOptions, name, dispose: () => (given ? undefined : worker.terminate()) })
  } catch (error) {
    if (!given) worker.terminate()
    throw error
  }
}

import { TiermemError } from '../core/api/errors.ts'
import type { EmbedderModelOptions, EmbedderProgress, EmbeddingOptions, MemoryOptions, StorageWitness } from '../core/api/types.ts'
import { localStorageWitness } from './page-witness.ts'

/** `embeddings` of openMemory(): what the worker loads, the cache's limits, and the model's download progress. */
export interface OpenMemoryEmbeddings {
  /** The model the worker loads next to the engine (createEmbedder's options). Needs `worker: embeddingWorker()`. */
  model?: EmbedderModelOptions
  cache?: EmbeddingOptions['cache']
  /** The vector index recall searches (HNSW m, efConstruction, efSearch). */
  index?: EmbeddingOptions['index']
  /** Each model file's bytes loaded of its total, while the worker downloads it. */
  onProgress?: (progress: EmbedderProgress) => void
}
import type { OpfsStoreOptions } from '../stores/opfs-store.ts'
import { connectMemory, type RemoteMemory } from './connect.ts'

export interface OpenMemoryOptions extends Omit<MemoryOptions, 'stores' | 'clock' | 'embeddings' | 'witness'> {
  /**
   * Where the memory's incarnation is remembered, to tell an eviction from a new memory
   * (MemoryOptions.witness). Default: this page's localStorage (kept by Chromium when it evicts
   * IndexedDB and OPFS). `false`: none. Or your own `{ read, write }` (your server).
   */
  witness?: StorageWitness | false
  /** Names the IndexedDB database and OPFS directory. Default 'default'. */
  name?: string
  /**
   * A worker running tiermem's worker entry, if you start it yourself (custom bundling, tests).
   * By default one is started with `new Worker(new URL(...), { type: 'module' })`, which Vite
   * and other bundlers follow.
   */
  worker?: Worker
  /**
   * Where tiermem's worker script (`tiermem/worker`) is served, if your bundler does not follow
   * `new URL(..., import.meta.url)` (esbuild): openMemory() starts it as a module worker. If it
   * fails to load, openMemory() rejects with WORKER_LOST naming this URL. See docs/bundlers.md.
   */
  workerUrl?: string | URL
  /**
   * An embedder next to the engine: `model` names what the worker loads (createEmbedder's
   * options), `cache` the embedding cache's limits, `onProgress` hears of the model's download.
   * Needs the embeddings worker: `worker: embeddingWorker()` from tiermem/embeddings.
   */
  embeddings?: OpenMemoryEmbeddings
  /** Tuning of the OPFS cold store: blockBytes (64 KiB), segmentBytes (8 MiB), level (6), compactDeadRatio (0.5), compressionThreads (2 on 2+ cores). */
  opfs?: Omit<OpfsStoreOptions, 'directory'>
}

/** The worker script beside this module; the build rewrites this path to './worker.js' (tsdown.config.ts). */
const WORKER_SCRIPT = '../../worker/tiermem.worker.ts'

/**
 * Opens a memory whose engine runs in a dedicated worker over IndexedDB (warm) and OPFS (cold).
 * Returns the same `Memory` interface as `createMemory()`; data persists across reloads and
 * browser restarts. `close()` stops the worker it started. Rejects with WORKER_LOST, naming the
 * script's URL, if the worker cannot start (a 404, a script that throws).
 */
export async function openMemory(options: OpenMemoryOptions = {}): Promise<RemoteMemory> {
  const { worker: given, workerUrl, name = 'default', witness: givenWitness, ...engineOptions } = options
  const witness = givenWitness === false ? undefined : (givenWitness ?? localStorageWitness(name))
  // `new Worker(new URL('…', import.meta.url), { type: 'module', … })` written out whole is what bundlers look for.
  const worker =
    given ??
    (workerUrl !== undefined
      ? new Worker(workerUrl, { type: 'module', name: `tiermem:${name}` })
      : new Worker(new URL('../../worker/tiermem.worker.ts', import.meta.url), { type: 'module', name: `tiermem:${name}` }))
  const script = given
    ? 'the worker passed as { worker }'
    : String(workerUrl !== undefined ? new URL(workerUrl, globalThis.location?.href) : new URL(WORKER_SCRIPT, import.meta.url))
  // A worker whose script fails to load never answers: its `error` event is the only word of it.
  let onError: (event: Event) => void = () => undefined
  const failed = new Promise<never>((_, reject) => {
    onError = (event) => {
      event.preventDefault()
      const detail = event instanceof ErrorEvent && event.message ? `: ${event.message}` : ''
      reject(
        new TiermemError(
          'WORKER_LOST',
          `tiermem's worker could not start (${script})${detail}. Check that the script is served; if your bundler does not follow new URL(..., import.meta.url), pass { workerUrl } (see docs/bundlers.md)`,
        ),
      )
    }
    worker.addEventListener('error', onError)
  })
  try {
    return await Promise.race([
      connectMemory(worker, { ...engineOptions, name, ...(witness ? { witness } : {}), dispose: () => (given ? undefined : worker.terminate()) }),
      failed,
    ])
  } catch (error) {
    if (!given) worker.terminate()
    throw error
  } finally {
    worker.removeEventListener('error', onError)
  }
}

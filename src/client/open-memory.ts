import { TiermemError } from '../core/api/errors.ts'
import type { EmbedderModelOptions, EmbedderProgress, EmbeddingOptions, MemoryOptions, StorageWitness } from '../core/api/types.ts'
import { localStorageWitness } from './page-witness.ts'

/** `embeddings` of openMemory(): what the worker loads, the cache's limits, and the model's download progress. */
export interface OpenMemoryEmbeddings {
  /** The model the worker loads next to the engine (createEmbedder's options). Needs `worker: embeddingWorker()`. */
  model?: EmbedderModelOptions
  cache?: EmbeddingOptions['cache']
  /** The vector index recall searches (HNSW m, efConstruction, efSearch, and maxResidentBytes of its codes). */
  index?: EmbeddingOptions['index']
  /** Each model file's bytes loaded of its total, while the worker downloads it. */
  onProgress?: (progress: EmbedderProgress) => void
}
import type { OpfsStoreOptions } from '../stores/opfs-store.ts'
import { connectMemory, type RemoteMemory } from './connect.ts'
import { openTabMemory, type TabConnection } from './tab-memory.ts'

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
   * and other bundlers follow. A function that starts one (`() => embeddingWorker()`) keeps tab
   * sharing: it is called only in the tab that leads, and its worker stops with close(). A worker
   * given as it is serves this tab alone (`tabs` is off).
   */
  worker?: Worker | (() => Worker)
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
  /**
   * Share this memory with other tabs of the origin that open the same name (default true): one
   * leads, the others forward their calls to it. `false`: this tab opens the stores alone, and a
   * second tab's open fails with LOCKED.
   */
  tabs?: boolean
  /** Where tiermem's tabs SharedWorker (`tiermem/tabs-worker`) is served, beside `workerUrl` for bundlers that do not follow `new URL(...)`. */
  tabsWorkerUrl?: string | URL
}

/** The worker script beside this module; the build rewrites this path to './worker.js' (tsdown.config.ts). */
const WORKER_SCRIPT = '../../worker/tiermem.worker.ts'

/**
 * Opens a memory whose engine runs in a dedicated worker over IndexedDB (warm) and OPFS (cold).
 * Returns the same `Memory` interface as `createMemory()`; data persists across reloads and
 * browser restarts. `close()` stops the worker it started. Rejects with WORKER_LOST, naming the
 * script's URL, if the worker cannot start (a 404, a script that throws).
 *
 * Several tabs of one origin may open the same name: one tab's worker leads (Web Locks) and the
 * others send their calls to it (`mem.role`). That needs SharedWorker and Web Locks, and
 * tiermem's own workers (not `{ worker }`; with `{ workerUrl }`, also `{ tabsWorkerUrl }`);
 * without them a second tab's open fails with LOCKED, as one tab at a time.
 */
export async function openMemory(options: OpenMemoryOptions = {}): Promise<RemoteMemory> {
  const { tabs, tabsWorkerUrl, ...rest } = options
  const name = rest.name ?? 'default'
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks
  const sharing = tabs !== false && typeof rest.worker !== 'object' && (rest.workerUrl === undefined || tabsWorkerUrl !== undefined)
  if (!sharing || !locks || typeof SharedWorker !== 'function') return openOwnWorker(rest)
  // The tabs' SharedWorker beside this module: the build rewrites the path to './tabs-worker.js' (tsdown.config.ts).
  let broker: SharedWorker
  try {
    broker =
      tabsWorkerUrl !== undefined
        ? new SharedWorker(tabsWorkerUrl, { type: 'module', name: 'tiermem-tabs' })
        : new SharedWorker(new URL('../../worker/tiermem-tabs.worker.ts', import.meta.url), { type: 'module', name: 'tiermem-tabs' })
  } catch {
    return openOwnWorker(rest)
  }
  const { witness: _witness, embeddings, ...followerOptions } = rest
  return openTabMemory({
    name,
    locks,
    broker: broker.port,
    lead: (onLost) => openOwnWorker(rest, onLost),
    follow: (port, onLost) =>
      connectMemory(port, {
        ...connectOptionsOf(followerOptions),
        name,
        role: 'follower',
        onLost,
        ...(embeddings?.onProgress ? { embeddings: { onProgress: embeddings.onProgress } } : {}),
        dispose: () => port.close(),
      }),
  })
}

/** The options connectMemory takes, from openMemory's (the worker and its URL stay here). */
function connectOptionsOf(options: Omit<OpenMemoryOptions, 'tabs' | 'tabsWorkerUrl'>) {
  const { worker: _worker, workerUrl: _url, witness: _witness, name: _name, ...engineOptions } = options
  return engineOptions
}

/** This tab's own worker, started and connected: one tab alone, or the tab that leads. */
async function openOwnWorker(options: Omit<OpenMemoryOptions, 'tabs' | 'tabsWorkerUrl'>, onLost?: () => void): Promise<TabConnection> {
  const { worker: passed, workerUrl, name = 'default', witness: givenWitness } = options
  // A worker made by the caller's function is this call's own, stopped with close() as one started here.
  const given = typeof passed === 'object' ? passed : undefined
  const made = typeof passed === 'function' ? passed() : undefined
  const engineOptions = connectOptionsOf(options)
  const witness = givenWitness === false ? undefined : (givenWitness ?? localStorageWitness(name))
  // `new Worker(new URL('…', import.meta.url), { type: 'module', … })` written out whole is what bundlers look for.
  const worker =
    given ??
    made ??
    (workerUrl !== undefined
      ? new Worker(workerUrl, { type: 'module', name: `tiermem:${name}` })
      : new Worker(new URL('../../worker/tiermem.worker.ts', import.meta.url), { type: 'module', name: `tiermem:${name}` }))
  const script = passed
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
      connectMemory(worker, {
        ...engineOptions,
        name,
        ...(witness ? { witness } : {}),
        ...(onLost ? { onLost } : {}),
        dispose: () => (given ? undefined : worker.terminate()),
      }),
      failed,
    ])
  } catch (error) {
    if (!given) worker.terminate()
    throw error
  } finally {
    worker.removeEventListener('error', onError)
  }
}

import { expose, releaseProxy, transfer, type Endpoint } from 'comlink'
import { installErrorTransfer, serializeError } from '../wire/error-transfer.ts'
import { createMemory } from '../core/api/open-engine.ts'
import { ENGINE_INTERNALS, EncodedValue, type EngineInternals } from '../core/api/internals.ts'
import { TiermemError } from '../core/api/errors.ts'
import { forwardedMethods } from '../core/api/surface.ts'
import type {
  Embedder,
  EmbedderModelOptions,
  EmbedderProgress,
  Memory,
  NamespaceOption,
  PutOptions,
  SignalSource,
  StorageWitness,
  TaskScope,
} from '../core/api/types.ts'
import type { OpfsStoreOptions } from '../stores/opfs-store.ts'
import type { RecordFiles } from '../core/store/record-file.ts'
import type { Deflater } from '../core/store/deflater.ts'
import type { Inflater } from '../core/store/inflater.ts'
import type { Store } from '../core/store/store.ts'
import {
  unpackPuts,
  type EmbedderFactory,
  type EventSink,
  type HostEvent,
  type HostOpenOptions,
  type MemoryHost,
  type PackedPuts,
  type PutResult,
  type WireValues,
} from '../wire/protocol.ts'

export type StoreOpener = (name: string, opfs?: Omit<OpfsStoreOptions, 'directory'>) => Promise<OpenedStores>

export interface OpenedStores {
  warm: Store
  cold: Store
  /** Record files for the vector index (OPFS where the worker has it). */
  records?: RecordFiles
  /** The cold store's compression workers, lent to the engine for backups and restores. */
  deflate?: Deflater
  inflate?: Inflater
}

/** The engine one host serves, shared by its connections. */
interface ServedEngine {
  name: string
  memory: Memory
  internals: EngineInternals
  coldBackend: string
}

/**
 * The engine's side of the boundary, for any number of connections: one engine, opened by the
 * first connection's open() and closed when the last connection closes. Each connection (a
 * Worker's global scope, a MessagePort from another tab, a MessageChannel in Node tests) keeps
 * its own state — its event subscriptions and its task scopes — and closing one connection
 * releases its scopes without closing the engine while others remain.
 */
export function createHostServer(openStores: StoreOpener, signals: SignalSource[] = [], makeEmbedder?: EmbedderFactory) {
  let engine: Promise<ServedEngine> | undefined
  const connections = new Set<object>()

  const acquire = (options: HostOpenOptions, onProgress?: (progress: EmbedderProgress) => void, witness?: StorageWitness): Promise<ServedEngine> => {
    engine ??= (async () => {
      const { name, lifeLock: _lock, opfs, embeddings, ...engineOptions } = options
      // The model first: a model that fails to load leaves no store open.
      const embedder = embeddings?.model ? await buildEmbedder(makeEmbedder, embeddings.model, onProgress) : undefined
      const stores = await openStores(name, opfs)
      const memory = await createMemory({
        ...engineOptions,
        stores,
        signals,
        // The page's witness, a proxy: each call crosses to the page (localStorage lives there). A page
        // that is gone never answers a proxy call, so each has a time limit: the open and close go on.
        ...(witness ? { witness: { read: () => answered(witness.read()), write: (record) => answered(witness.write(record)) } } : {}),
        ...(embedder || embeddings?.cache || embeddings?.index
          ? {
              embeddings: {
                ...(embedder ? { embedder } : {}),
                ...(embeddings?.cache ? { cache: embeddings.cache } : {}),
                ...(embeddings?.index ? { index: embeddings.index } : {}),
              },
            }
          : {}),
      })
      const internals = (memory as unknown as { [ENGINE_INTERNALS]: EngineInternals })[ENGINE_INTERNALS]
      return { name, memory, internals, coldBackend: stores.cold.backend }
    })()
    // A failed open leaves nothing behind: the next connection tries again.
    engine.catch(() => (engine = undefined))
    return engine
  }
  const releaseEngine = async (connection: object) => {
    connections.delete(connection)
    if (connections.size > 0 || !engine) return
    const closing = engine
    engine = undefined
    await (await closing).memory.close()
  }

  const server = {
    /** A new connection's host (one per endpoint). */
    connection: () => createConnection(acquire, releaseEngine, connections, (endpoint) => server.serve(endpoint)),
    /** Serves a new connection on an endpoint. */
    serve(endpoint: Endpoint): void {
      installErrorTransfer()
      expose(server.connection(), endpoint)
    },
    /** Connections open now. */
    get connections(): number {
      return connections.size
    },
  }
  return server
}

/** The embedder a model's options name, built where this host runs; only the embeddings worker can. */
async function buildEmbedder(
  makeEmbedder: EmbedderFactory | undefined,
  model: EmbedderModelOptions,
  onProgress: ((progress: EmbedderProgress) => void) | undefined,
): Promise<Embedder> {
  if (!makeEmbedder) {
    throw new TiermemError(
      'INVALID_OPTION',
      "this worker cannot load a model: start tiermem's embeddings worker, openMemory({ worker: embeddingWorker(), embeddings: { model } }) with embeddingWorker from tiermem/embeddings",
    )
  }
  return makeEmbedder(model, onProgress ? (progress) => void onProgress(progress) : undefined)
}

function createConnection(
  acquire: (options: HostOpenOptions, onProgress?: (progress: EmbedderProgress) => void, witness?: StorageWitness) => Promise<ServedEngine>,
  releaseEngine: (connection: object) => Promise<void>,
  connections: Set<object>,
  serve: (endpoint: Endpoint) => void,
): MemoryHost {
  let served: ServedEngine | undefined
  let sink: EventSink | undefined
  /** Events this connection's page has handlers for: only those cross (a gc can emit thousands). */
  const wanted = new Set<HostEvent>(['scopeAborted'])
  const unsubscribe: Array<() => void> = []
  const scopes = new Map<number, TaskScope>()
  let nextScope = 1

  const mem = (): Memory => {
    if (!served) throw new TiermemError('CLOSED', 'the memory is not open on this connection')
    return served.memory
  }
  const raw = (): EngineInternals => {
    if (!served) throw new TiermemError('CLOSED', 'the memory is not open on this connection')
    return served.internals
  }
  const read = async (keys: string[], options?: NamespaceOption, access = true): Promise<WireValues> => {
    const values = await raw().getRaw(keys, options, access)
    const encoded: number[] = []
    const transfers: ArrayBuffer[] = []
    for (let i = 0; i < values.length; i++) {
      const value = values[i]
      if (value instanceof EncodedValue) {
        values[i] = value.bytes
        encoded.push(i)
        transfers.push(value.bytes.buffer as ArrayBuffer)
      }
    }
    return transfer({ values, encoded }, transfers)
  }
  const scope = (id: number): TaskScope => {
    const found = scopes.get(id)
    if (!found) throw new TiermemError('CLOSED', `task scope ${id} is closed`)
    return found
  }
  const self: MemoryHost = {
    // Every method the surface table forwards: straight to the engine.
    ...forwardedMethods((name, args) => (mem()[name] as (...a: unknown[]) => Promise<unknown>)(...args)),
    async open(options: HostOpenOptions, onProgress?: (progress: EmbedderProgress) => void, witness?: StorageWitness): Promise<{ coldBackend: string }> {
      if (served) throw new TiermemError('INVALID_OPTION', 'this connection already has the memory open')
      if (options.lifeLock) holdLifeLock(options.lifeLock)
      let engine: ServedEngine
      try {
        engine = await acquire(options, onProgress, witness)
      } finally {
        // The page's callback is a proxy: let it go once the model has loaded (or failed to).
        releaseIfProxy(onProgress)
      }
      if (engine.name !== options.name) {
        throw new TiermemError('INVALID_OPTION', `this host serves the memory '${engine.name}', not '${options.name}'`)
      }
      served = engine
      connections.add(self)
      return { coldBackend: engine.coldBackend }
    },
    /** Serves another connection to the same engine on a port this one hands over (another tab's). */
    connect(port: MessagePort): void {
      serve(port as unknown as Endpoint)
    },
    setEventSink(next: EventSink | undefined): void {
      sink = next
    },
    /**
     * The page added its first handler for `event`: from now on the engine's events of that
     * kind cross (alerts raised while the memory opened are handed to this first handler too).
     */
    async subscribe(event: HostEvent): Promise<void> {
      if (wanted.has(event)) return
      wanted.add(event)
      if (event !== 'scopeAborted') unsubscribe.push(await mem().on(event, (payload) => sink?.(event, payload)))
    },
    /** Single puts that the page issued together: one batch, each settling on its own. */
    async putEach(packed: PackedPuts): Promise<PutResult[]> {
      const settled = await raw().putEncodedEach(unpackPuts(packed))
      return settled.map((r) => (r.status === 'fulfilled' ? { ok: r.value } : { error: serializeError(r.reason) }))
    },
    putMany: async (packed: PackedPuts) => raw().putEncoded(unpackPuts(packed)),
    get: (key: string, options?: NamespaceOption) => read([key], options),
    getMany: (keys: string[], options?: NamespaceOption) => read(keys, options),
    peek: (key: string, options?: NamespaceOption) => read([key], options, false),
    async clear(namespace: string | undefined, onProgress?: (done: number, total: number) => void): Promise<number> {
      try {
        return await mem().clear({
          ...(namespace === undefined ? {} : { namespace }),
          ...(onProgress ? { onProgress: (done, total) => void onProgress(done, total) } : {}),
        })
      } finally {
        // The page's callback is a proxy: let it go once the clear has settled.
        releaseIfProxy(onProgress)
      }
    },
    async backup(options, onProgress) {
      let stream: ReadableStream<Uint8Array>
      try {
        stream = await mem().backup({ ...options, ...(onProgress ? { onProgress: (done, total) => void onProgress(done, total) } : {}) })
      } catch (error) {
        releaseIfProxy(onProgress)
        throw error
      }
      const piped = onProgress ? releasingAtEnd(stream, () => releaseIfProxy(onProgress)) : stream
      return transfer(piped, [piped as unknown as Transferable])
    },
    async readSnapshot(id) {
      const stream = await mem().readSnapshot(id)
      return transfer(stream, [stream as unknown as Transferable])
    },
    async restoreBackup(sources, options, onProgress) {
      try {
        return await mem().restoreBackup(sources, {
          mode: options.mode,
          ...(options.until === undefined ? {} : { until: options.until }),
          ...(onProgress ? { onProgress: (done, total) => void onProgress(done, total) } : {}),
        })
      } finally {
        releaseIfProxy(onProgress)
      }
    },
    /** A signal the page sampled (performance.memory exists only in the window). */
    reportSignal(signal: { source: string; resource: 'memory' | 'storage'; used: number; limit: number }): void {
      raw().reportSignal(signal)
    },
    /**
     * Closes this connection: its scopes are released (as their close would), its subscriptions
     * end, and the engine closes with the last connection.
     */
    async close(): Promise<void> {
      if (!served) return
      const open = [...scopes.values()]
      scopes.clear()
      for (const off of unsubscribe.splice(0)) off()
      sink = undefined
      served = undefined
      try {
        for (const task of open) await task.close()
      } finally {
        await releaseEngine(self)
      }
    },
    async openScope(taskId: string, options?: { critical?: boolean; quotaBytes?: number }): Promise<{ id: number; taskId: string }> {
      const opened = await mem().openScope(taskId, options)
      const id = nextScope++
      scopes.set(id, opened)
      opened.signal.addEventListener('abort', () => {
        const reason = opened.signal.reason as { code?: string; message?: string } | undefined
        sink?.('scopeAborted', { id, code: reason?.code, message: reason?.message ?? String(reason) })
      })
      return { id, taskId: opened.taskId }
    },
    scopePut: (id: number, key: string, value: unknown, options?: PutOptions) => scope(id).put(key, value, options),
    async scopeGet(id: number, key: string): Promise<unknown> {
      return scope(id).get(key)
    },
    async scopeClose(id: number, options?: { keepEvidence?: boolean }): Promise<void> {
      const closing = scopes.get(id)
      scopes.delete(id)
      await closing?.close(options)
    },
  }
  return self
}

/** Exposes a host on an endpoint (the worker's global scope, or a port): the first connection of a new server. */
export function exposeMemoryHost(
  endpoint: Endpoint,
  openStores: StoreOpener,
  signals: SignalSource[] = [],
  makeEmbedder?: EmbedderFactory,
): ReturnType<typeof createHostServer> {
  const server = createHostServer(openStores, signals, makeEmbedder)
  server.serve(endpoint)
  return server
}

/** Holds a Web Lock until this context dies; the page's request for it is then granted. */
function holdLifeLock(name: string): void {
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks
  if (!locks) return
  void locks.request(name, () => new Promise<never>(() => {}))
}

/** Lets go of a page callback that came as a comlink proxy (a no-op for a plain function, in-process). */
function releaseIfProxy(callback: unknown): void {
  ;(callback as { [releaseProxy]?: () => void } | undefined)?.[releaseProxy]?.()
}

/** The stream as it is, and `release` once it has ended, failed or been cancelled (a progress proxy let go). */
function releasingAtEnd(stream: ReadableStream<Uint8Array>, release: () => void): ReadableStream<Uint8Array> {
  const reader = stream.getReader()
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read()
          if (done) {
            release()
            controller.close()
          } else controller.enqueue(value)
        } catch (error) {
          release()
          controller.error(error)
        }
      },
      async cancel(reason) {
        release()
        await reader.cancel(reason)
      },
    },
    { highWaterMark: 0 },
  )
}

/** A page's answer, or a rejection after `ms`: comlink never settles a call whose other side is gone. */
function answered<T>(call: Promise<T>, ms = 2_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TiermemError('WORKER_LOST', `the page did not answer within ${ms} ms`)), ms)
  })
  return Promise.race([call, late]).finally(() => clearTimeout(timer))
}

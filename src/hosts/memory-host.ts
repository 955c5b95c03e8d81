import { expose, transfer, type Endpoint } from 'comlink'
import { installErrorTransfer, serializeError } from '../wire/error-transfer.ts'
import { createMemory } from '../core/api/open-engine.ts'
import { ENGINE_INTERNALS, EncodedValue, type EngineInternals } from '../core/api/internals.ts'
import { TiermemError } from '../core/api/errors.ts'
import { forwardedMethods } from '../core/api/surface.ts'
import type { Memory, NamespaceOption, PutOptions, SignalSource, TaskScope } from '../core/api/types.ts'
import type { OpfsStoreOptions } from '../stores/opfs-store.ts'
import type { Store } from '../core/store/store.ts'
import { unpackPuts, type EventSink, type HostEvent, type HostOpenOptions, type PackedPuts, type PutResult, type WireValues } from '../wire/protocol.ts'

export type StoreOpener = (name: string, opfs?: Omit<OpfsStoreOptions, 'directory'>) => Promise<OpenedStores>

export interface OpenedStores {
  warm: Store
  cold: Store
}

/**
 * The engine's side of the worker boundary: a flat set of calls over plain data, exposed with
 * comlink on any Endpoint (a Worker's global scope, or a MessagePort in Node tests). Values put
 * arrive as encoded bytes the page transferred; warm and cold reads leave as encoded bytes
 * transferred back; hot reads leave as values (a structured clone, no encoding). Task scopes
 * are held here and named by number; their abort reaches the page as a 'scopeAborted' event.
 */
export function createMemoryHost(openStores: StoreOpener, signals: SignalSource[] = []) {
  let memory: Memory | undefined
  let internals: EngineInternals | undefined
  let sink: EventSink | undefined
  /** Events the page has handlers for: only those cross the boundary (a gc can emit thousands). */
  const wanted = new Set<HostEvent>(['scopeAborted'])
  const scopes = new Map<number, TaskScope>()
  let nextScope = 1

  const mem = (): Memory => {
    if (!memory) throw new TiermemError('CLOSED', 'the memory is not open in this worker')
    return memory
  }
  const raw = (): EngineInternals => {
    if (!internals || !memory) throw new TiermemError('CLOSED', 'the memory is not open in this worker')
    return internals
  }
  const read = async (keys: string[], options?: NamespaceOption): Promise<WireValues> => {
    const values = await raw().getRaw(keys, options)
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

  return {
    // Every method the surface table forwards: straight to the engine.
    ...forwardedMethods((name, args) => (mem()[name] as (...a: unknown[]) => Promise<unknown>)(...args)),
    async open(options: HostOpenOptions): Promise<{ coldBackend: string }> {
      if (memory) throw new TiermemError('INVALID_OPTION', 'this worker already holds an open memory')
      if (options.lifeLock) holdLifeLock(options.lifeLock)
      const { name, lifeLock: _lock, opfs, ...engineOptions } = options
      const stores = await openStores(name, opfs)
      memory = await createMemory({ ...engineOptions, stores, signals })
      internals = (memory as unknown as { [ENGINE_INTERNALS]: EngineInternals })[ENGINE_INTERNALS]
      return { coldBackend: stores.cold.backend }
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
      if (event !== 'scopeAborted') await mem().on(event, (payload) => sink?.(event, payload))
    },
    /** Single puts that the page issued together: one batch, each settling on its own. */
    async putEach(packed: PackedPuts): Promise<PutResult[]> {
      const settled = await raw().putEncodedEach(unpackPuts(packed))
      return settled.map((r) => (r.status === 'fulfilled' ? { ok: r.value } : { error: serializeError(r.reason) }))
    },
    putMany: async (packed: PackedPuts) => raw().putEncoded(unpackPuts(packed)),
    get: (key: string, options?: NamespaceOption) => read([key], options),
    getMany: (keys: string[], options?: NamespaceOption) => read(keys, options),
    /** A signal the page sampled (performance.memory exists only in the window). */
    reportSignal(signal: { source: string; resource: 'memory' | 'storage'; used: number; limit: number }): void {
      raw().reportSignal(signal)
    },
    async close(): Promise<void> {
      const closing = memory
      memory = undefined
      scopes.clear()
      await closing?.close()
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
}

export type MemoryHost = ReturnType<typeof createMemoryHost>

/** Exposes a host on an endpoint (the worker's global scope, or a port). */
export function exposeMemoryHost(endpoint: Endpoint, openStores: StoreOpener, signals: SignalSource[] = []): void {
  installErrorTransfer()
  expose(createMemoryHost(openStores, signals), endpoint)
}

/** Holds a Web Lock until this context dies; the page's request for it is then granted. */
function holdLifeLock(name: string): void {
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks
  if (!locks) return
  void locks.request(name, () => new Promise<never>(() => {}))
}

import { proxy, releaseProxy, transfer, wrap, type Endpoint, type Remote } from 'comlink'
import { decodeValue } from '../core/persistence/codec.ts'
import { isErrorCode, isTiermemError, TiermemError } from '../core/api/errors.ts'
import { EventBus, checkSubscription } from '../core/api/event-bus.ts'
import { checkClearOptions } from '../core/api/entry-writes.ts'
import { checkBackupOptions, checkRestoreOptions } from '../core/backup/backup-options.ts'
import { forwardedMethods } from '../core/api/surface.ts'
import type { EmbedderProgress, Memory, MemoryEvents, StorageWitness } from '../core/api/types.ts'
import type { HostEvent, HostOpenOptions, MemoryHost, WireValues } from '../wire/protocol.ts'
import { installErrorTransfer } from '../wire/error-transfer.ts'
import { CallGate } from './call-gate.ts'
import { startPageSignals } from './page-signals.ts'
import { bytesOf, ownPutOptions, ownView } from './own-views.ts'
import { PutBatcher, packPuts } from './put-batcher.ts'
import { remoteScope } from './remote-scope.ts'

/** Hands a port from another tab to this memory's worker, which serves it a connection of its own (leaders only). */
export const SERVE_TAB = Symbol('tiermem.serveTab')
/** Gives the worker up at once, as if it had died: pending calls reject with WORKER_LOST and a worker this page started is terminated. */
export const ABANDON = Symbol('tiermem.abandon')

/** A Memory whose engine runs in a worker. */
export interface RemoteMemory extends Memory {
  /**
   * 'leader': this tab's worker runs the engine and owns the storage. 'follower': another tab of
   * this origin leads the same memory name, and this tab's calls go to its worker. A follower
   * becomes the leader when the leading tab goes away.
   */
  readonly role: 'leader' | 'follower'
  /** Where cold entries live in this browser: 'opfs', or 'indexeddb' where OPFS is missing. */
  readonly coldBackend: string
  /**
   * Asks the browser to keep this origin's storage under pressure (navigator.storage.persist(),
   * page only). Resolves to whether storage is persisted now.
   */
  requestPersistence(): Promise<boolean>
  /** Whether the browser has granted persistent storage to this origin. */
  isPersisted(): Promise<boolean>
}

export interface ConnectOptions extends Omit<HostOpenOptions, 'lifeLock' | 'embeddings'> {
  embeddings?: HostOpenOptions['embeddings'] & { onProgress?: (progress: EmbedderProgress) => void }
  /** Called once the endpoint is done with (after close, or when the worker is lost). */
  dispose?: () => void
  /** The storage witness, kept on the page (MemoryOptions.witness); the engine calls it through a proxy. */
  witness?: StorageWitness
  /** Whether this connection's worker is this tab's own ('leader') or another tab's ('follower'). */
  role?: 'leader' | 'follower'
  /** Called once when the worker is found gone (after every pending call has rejected with WORKER_LOST). */
  onLost?: () => void
}

/**
 * The page side of the worker boundary: the same `Memory` interface as `createMemory()`, over
 * comlink. Values are encoded here and their bytes transferred (the caller's own buffers are
 * never detached); warm and cold reads come back as transferred bytes decoded here.
 *
 * comlink never rejects a call whose worker died; this client does. The worker holds a Web
 * Lock for its whole life and the page asks for the same lock: the grant means the worker is
 * gone, and every pending and later call rejects with WORKER_LOST.
 */
export async function connectMemory(
  endpoint: Endpoint,
  options: ConnectOptions,
): Promise<RemoteMemory & { [SERVE_TAB](port: MessagePort): Promise<void>; [ABANDON](why: string): void }> {
  installErrorTransfer()
  const remote: Remote<MemoryHost> = wrap<MemoryHost>(endpoint)
  const events = new EventBus()
  const scopeControllers = new Map<number, AbortController>()
  const gate = new CallGate()
  let closing: Promise<void> | undefined
  const lockAbort = new AbortController()
  let disposed = false
  const dispose = () => {
    if (disposed) return
    disposed = true
    options.dispose?.()
  }
  const puts = new PutBatcher(
    (packed) => gate.unlessLost(remote.putEach(transfer(packed, [packed.buffer]))),
    () => gate.refused(),
  )
  /** Every call: refused after close, rejected if the worker dies while it is pending; this turn's puts go first. */
  const call = <T>(run: () => Promise<T>): Promise<T> => {
    const refusal = gate.refused()
    if (refusal) return refusal
    puts.flush()
    return gate.unlessLost(run())
  }
  const loseWorker = (why: string) => {
    const error = gate.lose(why)
    if (!error) return
    for (const controller of scopeControllers.values()) controller.abort(error)
    stopSignals()
    dispose()
    options.onLost?.()
  }

  const { dispose: _dispose, embeddings, witness, role: _role, onLost: _onLost, ...openOptions } = options
  const { onProgress, ...hostEmbeddings } = embeddings ?? {}
  const lifeLock =
    typeof crypto?.randomUUID === 'function' && typeof navigator !== 'undefined' && navigator.locks ? `tiermem-life-${crypto.randomUUID()}` : undefined
  const { coldBackend } = await remote.open(
    { ...openOptions, ...(embeddings ? { embeddings: hostEmbeddings } : {}), ...(lifeLock ? { lifeLock } : {}) },
    onProgress ? proxy(onProgress) : undefined,
    witness ? proxy(witness) : undefined,
  )
  if (lifeLock) {
    navigator.locks.request(lifeLock, { signal: lockAbort.signal }, async () => loseWorker('its context ended')).catch(() => undefined)
  }
  await remote.setEventSink(
    proxy((event: HostEvent, payload: unknown) => {
      if (event === 'scopeAborted') {
        const { id, code, message } = payload as { id: number; code?: string; message: string }
        // The engine's reason, with its own code when it has a known one; never a code it did not say.
        scopeControllers.get(id)?.abort(new TiermemError(code !== undefined && isErrorCode(code) ? code : 'ABORTED', message))
      } else {
        events.emit(event, payload as MemoryEvents[typeof event])
      }
    }),
  )

  /** Values from the worker: encoded bytes (warm and cold reads) are decoded here. */
  const unwire = ({ values, encoded }: WireValues): unknown[] => {
    for (const i of encoded) values[i] = decodeValue(values[i] as Uint8Array)
    return values
  }
  const stopSignals = startPageSignals((sample) => {
    if (gate.state === 'open') remote.reportSignal(sample).catch(() => undefined)
  }, options.pressure?.checkIntervalMs ?? 5_000)
  const storageManager = () => (typeof navigator === 'undefined' ? undefined : navigator.storage)

  const memory: RemoteMemory & { [SERVE_TAB](port: MessagePort): Promise<void>; [ABANDON](why: string): void } = {
    // Every method the surface table forwards: sent as it is (refused after close, rejected if the worker dies).
    ...forwardedMethods((name, args) => call(() => (remote[name] as unknown as (...a: unknown[]) => Promise<unknown>)(...args.map(ownView)))),
    coldBackend,
    role: options.role ?? 'leader',
    [SERVE_TAB]: (port: MessagePort) => call(() => remote.connect(transfer(port, [port]))),
    [ABANDON]: (why: string) => loseWorker(why),
    put(key, value, putOptions) {
      return gate.refused() ?? puts.put(key, value, putOptions)
    },
    putMany(items) {
      return call(async () => {
        if (!Array.isArray(items)) throw new TiermemError('INVALID_OPTION', 'putMany takes an array of { key, value, ...options }')
        const packed = packPuts(items.map(({ key, value, ...options }) => ({ key, bytes: bytesOf(value), options: ownPutOptions(options) })))
        return remote.putMany(transfer(packed, [packed.buffer]))
      })
    },
    get: <T>(key: string, o?: { namespace?: string }) => call(async () => unwire(await remote.get(key, o))[0] as T | undefined),
    getMany: <T>(keys: string[], o?: { namespace?: string }) => call(async () => unwire(await remote.getMany(keys, o)) as (T | undefined)[]),
    peek: <T>(key: string, o?: { namespace?: string }) => call(async () => unwire(await remote.peek(key, o))[0] as T | undefined),
    clear(clearOptions) {
      return call(async () => {
        const { namespace, onProgress } = checkClearOptions(clearOptions)
        return remote.clear(namespace, onProgress ? proxy(onProgress) : undefined)
      })
    },
    backup(backupOptions) {
      return call(async () => {
        const { incremental, level, onProgress } = checkBackupOptions(backupOptions)
        return remote.backup({ incremental, level }, onProgress ? proxy(onProgress) : undefined)
      })
    },
    readSnapshot(id) {
      return call(() => remote.readSnapshot(id))
    },
    restoreBackup(sources, restoreOptions) {
      return call(async () => {
        const { mode, until, onProgress } = checkRestoreOptions(restoreOptions)
        const list = Array.isArray(sources) ? sources : [sources]
        // Streams cross by transfer (they cannot be cloned); bytes and Blobs are cloned, the caller keeps them.
        const streams = list.filter((s): s is ReadableStream<Uint8Array> => typeof (s as ReadableStream | null)?.getReader === 'function')
        return remote.restoreBackup(
          transfer(list, streams as unknown as Transferable[]),
          { mode, ...(until === undefined ? {} : { until }) },
          onProgress ? proxy(onProgress) : undefined,
        )
      })
    },
    async requestPersistence() {
      const storage = storageManager()
      if (!storage?.persist) return false
      return storage.persist()
    },
    async isPersisted() {
      const storage = storageManager()
      return storage?.persisted ? storage.persisted() : false
    },
    async on<E extends keyof MemoryEvents>(event: E, handler: (e: MemoryEvents[E]) => void) {
      if (gate.state !== 'open') throw new TiermemError('CLOSED', 'this memory is closed; open it again to use it')
      checkSubscription(event, handler)
      // The handler first: the host hands alerts raised while the memory opened (an eviction, damaged
      // records) to a new subscription at once, and they can arrive before subscribe() answers.
      const first = !events.has(event)
      const off = events.on(event, handler)
      if (first) {
        try {
          await call(() => remote.subscribe(event))
        } catch (error) {
          off()
          throw error
        }
      }
      return off
    },
    openScope(taskId, scopeOptions) {
      return call(async () => {
        const { id } = await remote.openScope(taskId, scopeOptions)
        return remoteScope(taskId, id, remote, call, scopeControllers)
      })
    },
    close() {
      // One close however often it is called: a second call resolves when the first has finished.
      closing ??= (async () => {
        // Puts issued before close() in this turn go first: close waits for them, as in-process.
        puts.flush()
        const wasOpen = gate.state === 'open'
        gate.state = 'closed'
        try {
          // A failed final flush or store close is the caller's to know, as in-process; a worker
          // that is already gone has nothing left to flush.
          if (wasOpen)
            await gate.unlessLost(remote.close()).catch((error: unknown) => {
              if (!isTiermemError(error, 'WORKER_LOST')) throw error
            })
        } finally {
          stopSignals()
          lockAbort.abort()
          remote[releaseProxy]()
          dispose()
        }
      })()
      return closing
    },
    [Symbol.asyncDispose]() {
      return memory.close()
    },
  }
  return memory
}

import { proxy, releaseProxy, transfer, wrap, type Endpoint, type Remote } from 'comlink'
import { decodeValue, encodeValue } from '../core/persistence/codec.ts'
import { isErrorCode, isTiermemError, TiermemError } from '../core/api/errors.ts'
import { EventBus, checkSubscription } from '../core/api/event-bus.ts'
import { forwardedMethods } from '../core/api/surface.ts'
import type { EntryInfo, Memory, MemoryEvents, PutOptions, TaskScope } from '../core/api/types.ts'
import type { MemoryHost } from '../hosts/memory-host.ts'
import type { HostEvent, HostOpenOptions, PackedPuts, PutResult, WireValues } from '../wire/protocol.ts'
import { deserializeError, installErrorTransfer } from '../wire/error-transfer.ts'
import { startPageSignals } from './page-signals.ts'

/** A Memory whose engine runs in a worker. */
export interface RemoteMemory extends Memory {
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

export interface ConnectOptions extends Omit<HostOpenOptions, 'lifeLock'> {
  /** Called once the endpoint is done with (after close, or when the worker is lost). */
  dispose?: () => void
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
export async function connectMemory(endpoint: Endpoint, options: ConnectOptions): Promise<RemoteMemory> {
  installErrorTransfer()
  const remote: Remote<MemoryHost> = wrap<MemoryHost>(endpoint)
  const events = new EventBus()
  const scopeControllers = new Map<number, AbortController>()
  let state: 'open' | 'closed' | 'lost' = 'open'
  let closing: Promise<void> | undefined
  let markLost!: (error: TiermemError) => void
  const lost = new Promise<never>((_, reject) => (markLost = reject))
  lost.catch(() => undefined)
  /**
   * The rejecters of calls in flight: a lost worker rejects them all. Not Promise.race with
   * `lost`: each race leaves a reaction on `lost` that lives as long as the worker does, and
   * through it the race's promise and the value it settled with — every value ever read
   * stayed reachable from the page (a leak a test below the client checks with a WeakRef).
   */
  const inFlight = new Set<(error: unknown) => void>()
  const unlessLost = <T>(promise: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      inFlight.add(reject)
      promise.then(
        (value) => (inFlight.delete(reject), resolve(value)),
        (error: unknown) => (inFlight.delete(reject), reject(error)),
      )
    })
  const lockAbort = new AbortController()
  let disposed = false
  const dispose = () => {
    if (disposed) return
    disposed = true
    options.dispose?.()
  }

  const loseWorker = (why: string) => {
    // Also while closing: a worker that dies then must not leave close() waiting for an answer.
    if (state === 'lost') return
    state = 'lost'
    const error = new TiermemError('WORKER_LOST', `the tiermem worker stopped (${why}); open the memory again — everything committed is kept`)
    markLost(error)
    for (const reject of inFlight) reject(error)
    inFlight.clear()
    for (const controller of scopeControllers.values()) controller.abort(error)
    stopSignals()
    dispose()
  }
  /**
   * Puts issued in the same turn leave as one message (their values in one transferred
   * buffer) and settle one by one. Every other call sends them first: the port keeps order,
   * so a get right after a put reaches the worker after it and waits for it there.
   */
  let pendingPuts: Array<{ key: string; bytes: Uint8Array; options: PutOptions | undefined; resolve(info: EntryInfo): void; reject(error: unknown): void }> = []
  const flushPuts = () => {
    if (pendingPuts.length === 0) return
    const batch = pendingPuts
    pendingPuts = []
    const refusal = refused()
    if (refusal) {
      refusal.catch((e: unknown) => batch.forEach((p) => p.reject(e)))
      return
    }
    const packed = pack(batch)
    unlessLost(remote.putEach(transfer(packed, [packed.buffer]))).then(
      (results: PutResult[]) => results.forEach((r, i) => ('ok' in r ? batch[i]!.resolve(r.ok) : batch[i]!.reject(deserializeError(r.error)))),
      (error: unknown) => batch.forEach((p) => p.reject(error)),
    )
  }
  /** Why a call is refused now (closed, or the worker is lost), or undefined while open. */
  const refused = (): Promise<never> | undefined =>
    state === 'closed' ? Promise.reject(new TiermemError('CLOSED', 'this memory is closed; open it again to use it')) : state === 'lost' ? lost : undefined
  /** Every call: refused after close, rejected if the worker dies while it is pending. */
  const call = <T>(run: () => Promise<T>): Promise<T> => {
    const refusal = refused()
    if (refusal) return refusal
    flushPuts()
    return unlessLost(run())
  }

  const { dispose: _dispose, ...openOptions } = options
  const lifeLock =
    typeof crypto?.randomUUID === 'function' && typeof navigator !== 'undefined' && navigator.locks ? `tiermem-life-${crypto.randomUUID()}` : undefined
  const { coldBackend } = await remote.open({ ...openOptions, ...(lifeLock ? { lifeLock } : {}) })
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
    if (state === 'open') remote.reportSignal(sample).catch(() => undefined)
  }, options.pressure?.checkIntervalMs ?? 5_000)
  const storageManager = () => (typeof navigator === 'undefined' ? undefined : navigator.storage)

  const memory: RemoteMemory = {
    // Every method the surface table forwards: sent as it is (refused after close, rejected if the worker dies).
    ...forwardedMethods((name, args) => call(() => (remote[name] as unknown as (...a: unknown[]) => Promise<unknown>)(...args))),
    coldBackend,
    put(key, value, putOptions) {
      const refusal = refused()
      if (refusal) return refusal
      return new Promise<EntryInfo>((resolve, reject) => {
        // Encoded now: the value is taken as it is when put() is called.
        const bytes = encodeValue(value)
        pendingPuts.push({ key, bytes, options: putOptions, resolve, reject })
        if (pendingPuts.length === 1) queueMicrotask(flushPuts)
      })
    },
    putMany(items) {
      return call(async () => {
        if (!Array.isArray(items)) throw new TiermemError('INVALID_OPTION', 'putMany takes an array of { key, value, ...options }')
        const packed = pack(items.map(({ key, value, ...options }) => ({ key, bytes: encodeValue(value), options })))
        return remote.putMany(transfer(packed, [packed.buffer]))
      })
    },
    get: <T>(key: string, o?: { namespace?: string }) => call(async () => unwire(await remote.get(key, o))[0] as T | undefined),
    getMany: <T>(keys: string[], o?: { namespace?: string }) => call(async () => unwire(await remote.getMany(keys, o)) as (T | undefined)[]),
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
      if (state !== 'open') throw new TiermemError('CLOSED', 'this memory is closed; open it again to use it')
      checkSubscription(event, handler)
      if (!events.has(event)) await call(() => remote.subscribe(event))
      return events.on(event, handler)
    },
    openScope(taskId, scopeOptions) {
      return call(async () => {
        const { id } = await remote.openScope(taskId, scopeOptions)
        const controller = new AbortController()
        scopeControllers.set(id, controller)
        let closing: Promise<void> | undefined
        const close = (closeOptions?: { keepEvidence?: boolean }) =>
          (closing ??= call(async () => {
            scopeControllers.delete(id)
            await remote.scopeClose(id, closeOptions)
          }))
        const scope: TaskScope = {
          taskId,
          signal: controller.signal,
          put: (key: string, value: unknown, putOptions?: PutOptions): Promise<EntryInfo> => call(() => remote.scopePut(id, key, value, putOptions)),
          get: <T>(key: string) => call(() => remote.scopeGet(id, key) as Promise<T | undefined>),
          close,
          [Symbol.asyncDispose]: () => close(),
        }
        return scope
      })
    },
    close() {
      // One close however often it is called: a second call resolves when the first has finished.
      closing ??= (async () => {
        // Puts issued before close() in this turn go first: close waits for them, as in-process.
        flushPuts()
        const wasOpen = state === 'open'
        state = 'closed'
        try {
          // A failed final flush or store close is the caller's to know, as in-process; a worker
          // that is already gone has nothing left to flush.
          if (wasOpen)
            await unlessLost(remote.close()).catch((error: unknown) => {
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

/** Copies encoded values into one buffer to transfer: one transfer instead of one per value, and the caller's buffers stay theirs. */
function pack(items: ReadonlyArray<{ key: string; bytes: Uint8Array; options?: PutOptions | undefined }>): PackedPuts {
  let total = 0
  for (const item of items) total += item.bytes.byteLength
  const buffer = new ArrayBuffer(total)
  const view = new Uint8Array(buffer)
  let offset = 0
  const out: PackedPuts['items'] = items.map(({ key, bytes, options }) => {
    view.set(bytes, offset)
    const entry = { key, offset, length: bytes.byteLength, ...(options ? { options } : {}) }
    offset += bytes.byteLength
    return entry
  })
  return { buffer, items: out }
}

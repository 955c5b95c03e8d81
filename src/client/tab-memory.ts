import { TiermemError, isTiermemError } from '../core/api/errors.ts'
import { EventBus, checkSubscription } from '../core/api/event-bus.ts'
import { MEMORY_SURFACE, type MemoryMethod } from '../core/api/surface.ts'
import { encodeValue } from '../core/persistence/codec.ts'
import type { MemoryEvents, PutOptions } from '../core/api/types.ts'
import { ABANDON, SERVE_TAB, type RemoteMemory } from './connect.ts'
import { HeldValue, ownPutOptions, ownView } from './own-views.ts'

/** A connection to a worker: this tab's own (leader) or another tab's (follower). */
export type TabConnection = RemoteMemory & { [SERVE_TAB](port: MessagePort): Promise<void>; [ABANDON](why: string): void }

export interface TabMemoryOptions {
  name: string
  /** Starts this tab's own worker and opens the stores in it: how the leader connects. `onLost`: its worker died. */
  lead(onLost: () => void): Promise<TabConnection>
  /** Connects over a port to the leading tab's worker: how a follower connects. `onLost`: that worker is gone. */
  follow(port: MessagePort, onLost: () => void): Promise<TabConnection>
  /** A port to the tabs' SharedWorker, which passes a follower's port on to the leader. */
  broker: MessagePort
  locks: LockManager
}

/**
 * A call's arguments as they are when it is called: a put's value encoded now and its options
 * copied, a recall's query vector, a getMany's keys, other calls' options and filters. A call
 * waiting for a new leader, or sent again to one, leaves later than the caller issued it; a
 * caller that fills one object and puts it in a loop would otherwise have its last fill stored
 * under every key. Arguments that cannot be copied (a progress callback, a backup's stream) go
 * as they are, and the connection refuses what it cannot send.
 */
function asCalled(method: MemoryMethod, args: unknown[]): unknown[] {
  try {
    if (method === 'put') return [args[0], new HeldValue(encodeValue(args[1])), ownPutOptions(args[2] as PutOptions | undefined), ...args.slice(3)]
    if (method === 'putMany' && Array.isArray(args[0])) {
      const items = args[0].map((item: unknown) => {
        if (typeof item !== 'object' || item === null) return item
        const { key, value, ...options } = item as { key: unknown; value: unknown } & PutOptions
        return { ...ownPutOptions(options), key, value: new HeldValue(encodeValue(value)) }
      })
      return [items, ...args.slice(1)]
    }
    if (method === 'recall') return [ownView(args[0]), ...args.slice(1)]
    if (method === 'getMany' && Array.isArray(args[0])) return [args[0].slice(), ...args.slice(1)]
    // Options and filters are small; a restore's sources may be a whole backup's bytes, and are the caller's to keep.
    if (method !== 'restoreBackup' && args.some((arg) => typeof arg === 'object' && arg !== null)) return structuredClone(args)
  } catch {
    return args
  }
  return args
}

/** How long a follower waits for a live leader to answer a connection before it asks again. */
const ANSWER_MS = 1_500
/** How long a tab keeps trying to reach or become the leader before LOCKED. */
const ESTABLISH_MS = 10_000

/**
 * One memory name shared by every tab of an origin. The tab holding the Web Lock
 * `tiermem-leader:<name>` runs the engine in its worker; the others connect to that worker over a
 * MessagePort (introduced by the tabs' SharedWorker) and send it every call. When the leader goes
 * away, the lock passes to a follower, which opens the stores itself; the other followers
 * reconnect to it.
 *
 * Calls keep their issue order across a change of leader: calls issued while the connection
 * changes, and calls that were in flight on the lost one, go to the new one sorted by when they
 * were issued. A call in flight when the connection was lost is sent again only when repeating it
 * cannot change the outcome (MEMORY_SURFACE.repeatSafe: reads, and puts of the same content);
 * the others reject with LEADER_CHANGED, since it is unknown whether they happened.
 */
export async function openTabMemory(options: TabMemoryOptions): Promise<RemoteMemory> {
  const { name, broker, locks } = options
  const lockName = `tiermem-leader:${name}`
  let role: 'leader' | 'follower' = 'follower'
  let closed = false
  let releaseLead: (() => void) | undefined
  const stopWaiting = new AbortController()
  let current: TabConnection | undefined
  let switching: Promise<TabConnection> | undefined
  let seq = 0
  const waiting: Array<{ seq: number; resolve: (c: TabConnection) => void; reject: (e: unknown) => void }> = []
  const inFlight = new Map<TabConnection, Set<Promise<unknown>>>()
  const lost = new WeakSet<TabConnection>()
  const asks = new Map<string, () => void>()
  const events = new EventBus()
  const subscribed = new Set<keyof MemoryEvents>()
  const subscribedOn = new WeakMap<TabConnection, Set<keyof MemoryEvents>>()

  /** Forwards `event` from a connection to this tab's handlers, once per connection. */
  const forward = async (connection: TabConnection, event: keyof MemoryEvents): Promise<void> => {
    let done = subscribedOn.get(connection)
    if (!done) subscribedOn.set(connection, (done = new Set()))
    if (done.has(event)) return
    done.add(event)
    try {
      await connection.on(event, (payload) => events.emit(event, payload as never))
    } catch (error) {
      done.delete(event)
      throw error
    }
  }

  /** What a connection's worker going away starts: the next connection, before any call notices. */
  const lostHandler = (connection: () => TabConnection | undefined) => () => {
    const gone = connection()
    if (!gone || closed) return
    lost.add(gone)
    void replace(gone).catch(() => undefined)
  }

  broker.onmessage = ({ data, ports }: MessageEvent<{ type: string; id: string }>) => {
    if (data.type === 'connect' && ports[0]) {
      const port = ports[0]
      if (role === 'leader' && current && !lost.has(current)) void current[SERVE_TAB](port).catch(() => port.close())
      else port.close()
    } else if (data.type === 'no-leader') {
      asks.get(data.id)?.()
    }
  }
  broker.start()

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

  /** Asks the leader for a connection; undefined when nobody answers in time. */
  const tryFollow = async (): Promise<TabConnection | undefined> => {
    const { port1, port2 } = new MessageChannel()
    const id = `${Date.now()}-${Math.random()}`
    const unanswered = new Promise<undefined>((resolve) => {
      asks.set(id, () => resolve(undefined))
      setTimeout(() => resolve(undefined), ANSWER_MS)
    })
    broker.postMessage({ type: 'follow', name, id }, [port2])
    let made: TabConnection | undefined
    const connecting = options.follow(
      port1,
      lostHandler(() => made),
    )
    void connecting.then((c) => (made = c)).catch(() => undefined)
    const connected = await Promise.race([connecting, unanswered]).catch((error: unknown) => {
      if (isTiermemError(error, 'WORKER_LOST')) return undefined
      throw error
    })
    asks.delete(id)
    if (!connected) {
      port1.close()
      void connecting.then((late) => late.close()).catch(() => undefined)
    }
    return connected
  }

  /**
   * Tells the tabs' SharedWorker that this tab leads, with a Web Lock held while it does: the
   * SharedWorker checks it before passing a port on, so a dead leader's registration is skipped.
   */
  let alive: string | undefined
  const announceLead = async (): Promise<void> => {
    if (!alive) {
      const lockName = `tiermem-leader-alive:${name}:${Date.now()}-${Math.random()}`
      await new Promise<void>((held) => {
        void locks.request(lockName, () => {
          held()
          return new Promise<void>((release) => (releaseAlive = release))
        })
      })
      alive = lockName
    }
    broker.postMessage({ type: 'lead', name, alive })
  }
  let releaseAlive: (() => void) | undefined

  /** This tab's connection: its own worker while it leads, else the leader's. */
  const establish = async (): Promise<TabConnection> => {
    const deadline = Date.now() + ESTABLISH_MS
    for (let attempt = 0; ; attempt++) {
      if (closed) throw new TiermemError('CLOSED', 'this memory is closed; open it again to use it')
      if (role === 'leader') {
        try {
          let made: TabConnection | undefined
          const connection = await options.lead(lostHandler(() => made))
          made = connection
          await announceLead()
          return connection
        } catch (error) {
          // The last leader's worker may still be going away with the stores' lock.
          if (!isTiermemError(error, 'LOCKED') || Date.now() > deadline) throw error
        }
      } else {
        const connection = await tryFollow()
        if (connection) return connection
        if (Date.now() > deadline) {
          throw new TiermemError('LOCKED', `memory '${name}': another tab leads it but does not answer (frozen or busy); try again, or close it there`)
        }
      }
      await sleep(Math.min(400, 25 * 2 ** attempt))
    }
  }

  /** Replaces a lost (or superseded) connection; calls waiting for it go out in issue order. */
  const replace = (from: TabConnection | undefined): Promise<TabConnection> => {
    if (switching) return switching
    if (from !== current && current) return Promise.resolve(current)
    const next = (async () => {
      if (from) {
        // Calls still in flight on it settle first: a lost connection rejects them all at once.
        await Promise.allSettled([...(inFlight.get(from) ?? [])])
        inFlight.delete(from)
        await from.close().catch(() => undefined)
      }
      const connection = await establish()
      for (const event of subscribed) await forward(connection, event)
      current = connection
      return connection
    })()
    switching = next
    next.then(
      (connection) => {
        switching = undefined
        for (const call of waiting.sort((a, b) => a.seq - b.seq).splice(0)) call.resolve(connection)
      },
      (error: unknown) => {
        switching = undefined
        for (const call of waiting.splice(0)) call.reject(error)
      },
    )
    return next
  }

  const connectionFor = (callSeq: number): TabConnection | Promise<TabConnection> => {
    if (!switching && current && !lost.has(current)) return current
    const queued = new Promise<TabConnection>((resolve, reject) => waiting.push({ seq: callSeq, resolve, reject }))
    // A connection lost while no replacement is under way (the last attempt gave up): try again.
    if (!switching) void replace(current).catch(() => undefined)
    return queued
  }

  /** Sends a call, and again on the next connection when the leader changed and that is safe. */
  const run = async <T>(method: MemoryMethod, invoke: (connection: TabConnection) => Promise<T>): Promise<T> => {
    if (closed) throw new TiermemError('CLOSED', 'this memory is closed; open it again to use it')
    const callSeq = ++seq
    for (;;) {
      // Sent in this turn when the connection is up: no extra hop, and "in flight" means sent.
      const ready = connectionFor(callSeq)
      const connection = ready instanceof Promise ? await ready : ready
      const sentOnLive = !lost.has(connection)
      const attempt = invoke(connection)
      let calls = inFlight.get(connection)
      if (!calls) inFlight.set(connection, (calls = new Set()))
      calls.add(attempt)
      try {
        return await attempt
      } catch (error) {
        if (closed || !isTiermemError(error, 'WORKER_LOST')) throw error
        lost.add(connection)
        void replace(connection).catch(() => undefined)
        if (sentOnLive && !MEMORY_SURFACE[method].repeatSafe) {
          throw new TiermemError(
            'LEADER_CHANGED',
            `the tab leading memory '${name}' went away during ${method}(); it may or may not have taken effect: check, then repeat it if needed`,
          )
        }
      } finally {
        calls.delete(attempt)
      }
    }
  }

  /** Queues for the lead: granted when the leading tab goes, and this tab takes over. */
  const awaitLead = () => {
    locks
      .request(lockName, { signal: stopWaiting.signal }, () => {
        role = 'leader'
        void replace(current).catch(() => undefined)
        return new Promise<void>((release) => (releaseLead = release))
      })
      .catch(() => undefined)
  }

  // Lead if nobody does; else follow, and queue for the lead in case the leader goes.
  const leading = await new Promise<boolean>((resolve, reject) => {
    locks
      .request(lockName, { ifAvailable: true }, (lock) => {
        if (!lock) return resolve(false)
        resolve(true)
        return new Promise<void>((release) => (releaseLead = release))
      })
      .catch(reject)
  })
  role = leading ? 'leader' : 'follower'
  if (!leading) awaitLead()

  /**
   * A leading tab the browser freezes (in the background, or into the back/forward cache) would
   * keep the lock while its worker stops answering, and every other tab would wait. So it steps
   * down as it freezes: its worker goes (what it acknowledged is stored already; calls in flight
   * are sent again or rejected, as for any lost leader), the lock passes on, and when the tab
   * comes back it follows whoever leads then.
   */
  const stepDown = () => {
    if (closed || role !== 'leader') return
    role = 'follower'
    const own = current
    if (own) {
      lost.add(own)
      own[ABANDON]('this tab was frozen while it led')
    }
    broker.postMessage({ type: 'resign', name })
    releaseAlive?.()
    releaseAlive = undefined
    alive = undefined
    releaseLead?.()
    releaseLead = undefined
    awaitLead()
  }
  const onPageHide = (event: Event) => {
    if ((event as PageTransitionEvent).persisted) stepDown()
  }
  const page = typeof document === 'undefined' ? undefined : document
  page?.addEventListener('freeze', stepDown)
  globalThis.addEventListener?.('pagehide', onPageHide)
  const stopListening = () => {
    page?.removeEventListener('freeze', stepDown)
    globalThis.removeEventListener?.('pagehide', onPageHide)
  }

  try {
    await replace(undefined)
  } catch (error) {
    stopListening()
    stopWaiting.abort()
    releaseLead?.()
    broker.close()
    throw error
  }

  let closing: Promise<void> | undefined
  const methods = Object.fromEntries(
    (Object.keys(MEMORY_SURFACE) as MemoryMethod[])
      .filter((method) => method !== 'on' && method !== 'close')
      .map((method) => [
        method,
        (...args: unknown[]) => {
          const held = asCalled(method, args)
          return run(method, (c) => (c[method] as (...a: unknown[]) => Promise<unknown>)(...held))
        },
      ]),
  )
  const memory = {
    ...methods,
    get role() {
      return role
    },
    get coldBackend() {
      return current?.coldBackend ?? 'unknown'
    },
    requestPersistence: () => run('stats', (c) => c.requestPersistence()),
    isPersisted: () => run('stats', (c) => c.isPersisted()),
    async on<E extends keyof MemoryEvents>(event: E, handler: (e: MemoryEvents[E]) => void) {
      if (closed) throw new TiermemError('CLOSED', 'this memory is closed; open it again to use it')
      checkSubscription(event, handler)
      const off = events.on(event, handler)
      if (!subscribed.has(event)) {
        subscribed.add(event)
        try {
          await run('on', (c) => forward(c, event))
        } catch (error) {
          subscribed.delete(event)
          off()
          throw error
        }
      }
      return off
    },
    close() {
      closing ??= (async () => {
        closed = true
        stopListening()
        stopWaiting.abort()
        try {
          await (switching?.catch(() => undefined) ?? Promise.resolve())
          await current?.close()
        } finally {
          // The lock goes only once this tab's worker has let go of the stores.
          if (role === 'leader') broker.postMessage({ type: 'resign', name })
          broker.close()
          releaseAlive?.()
          releaseLead?.()
        }
      })()
      return closing
    },
    [Symbol.asyncDispose]() {
      return memory.close()
    },
  }
  return memory as unknown as RemoteMemory
}

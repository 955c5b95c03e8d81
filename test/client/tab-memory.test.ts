import { describe, expect, it } from 'vitest'
import { TiermemError } from '../../src/core/api/errors.ts'
import { ABANDON, SERVE_TAB } from '../../src/client/connect.ts'
import { HeldValue } from '../../src/client/own-views.ts'
import { openTabMemory, type TabConnection } from '../../src/client/tab-memory.ts'
import { decodeValue } from '../../src/core/persistence/codec.ts'

/**
 * The tab logic without a browser: Web Locks, the tabs' SharedWorker and the workers are fakes
 * with the same contracts, so a leader can die at an exact moment. What the fakes stand for is
 * tested in Chromium (e2e/tabs.spec.ts); here, the order of calls across a change of leader.
 */

/** Web Locks: one holder per name, waiters in order, `ifAvailable`, abort by signal; a tab's death frees its lock. */
class FakeLocks {
  private holders = new Map<string, { release: () => void }>()
  private waiters = new Map<string, Array<() => void>>()

  request(
    name: string,
    optionsOrCallback: { ifAvailable?: boolean; signal?: AbortSignal } | ((lock: object | null) => unknown),
    maybeCallback?: (lock: object | null) => unknown,
  ): Promise<unknown> {
    const options = typeof optionsOrCallback === 'function' ? {} : optionsOrCallback
    const callback = typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback!
    if (this.holders.has(name)) {
      if (options.ifAvailable) return Promise.resolve(callback(null))
      return new Promise((resolve, reject) => {
        const grant = () => resolve(this.hold(name, callback))
        const queue = this.waiters.get(name) ?? []
        queue.push(grant)
        this.waiters.set(name, queue)
        options.signal?.addEventListener('abort', () => {
          const at = queue.indexOf(grant)
          if (at >= 0) queue.splice(at, 1)
          reject(new Error('AbortError'))
        })
      })
    }
    return this.hold(name, callback)
  }

  /** The holder's tab died: the lock goes to the next waiter whatever its callback was doing. */
  kill(name: string): void {
    this.holders.get(name)?.release()
  }

  private hold(name: string, callback: (lock: object | null) => unknown): Promise<unknown> {
    let released = false
    const release = () => {
      if (released) return
      released = true
      this.holders.delete(name)
      this.waiters.get(name)?.shift()?.()
    }
    this.holders.set(name, { release })
    return Promise.resolve(callback({ name })).finally(release)
  }
}

/** The stored memory and the worker that leads it now. */
class World {
  data = new Map<string, unknown>()
  refCounts = new Map<string, number>()
  worker: FakeWorker | undefined
  locks = new FakeLocks()
  leaderPort: FakePort | undefined
  /** While true, calls sent stay in flight (a test kills the leader with a call surely unanswered). */
  holding = false
}

/** A worker: its connections die with it, and their calls in flight reject with WORKER_LOST. */
class FakeWorker {
  alive = true
  connections = new Set<{ fail(): void }>()
  die(): void {
    this.alive = false
    for (const connection of this.connections) connection.fail()
  }
}

/** A port to the tabs' SharedWorker; it passes 'follow' on to the registered leader. */
class FakePort {
  onmessage: ((event: { data: { type: string; id: string }; ports: MessagePort[] }) => void) | null = null
  constructor(private readonly world: World) {}
  start(): void {}
  close(): void {}
  postMessage(data: { type: string; name: string; id: string }, transfer: MessagePort[] = []): void {
    if (data.type === 'lead') this.world.leaderPort = this
    else if (data.type === 'resign' && this.world.leaderPort === this) this.world.leaderPort = undefined
    else if (data.type === 'follow') {
      const leader = this.world.leaderPort
      queueMicrotask(() => {
        if (leader && this.world.worker?.alive) leader.onmessage?.({ data: { type: 'connect', id: data.id }, ports: transfer })
        else this.onmessage?.({ data: { type: 'no-leader', id: data.id }, ports: [] })
      })
    }
  }
}

/** A connection to a worker: calls take effect a few ms after they are sent, in order; a dead worker fails them. */
function connectionTo(world: World, worker: FakeWorker, role: 'leader' | 'follower', onLost: () => void): TabConnection {
  const pending = new Set<(error: unknown) => void>()
  let lost = false
  const fail = () => {
    if (lost) return
    lost = true
    for (const reject of pending) reject(new TiermemError('WORKER_LOST', 'the worker is gone'))
    pending.clear()
    onLost()
  }
  const self = { fail }
  worker.connections.add(self)
  const op = <T>(effect: () => T): Promise<T> => {
    if (lost || !worker.alive) return Promise.reject(new TiermemError('WORKER_LOST', 'the worker is gone'))
    return new Promise<T>((resolve, reject) => {
      pending.add(reject)
      const answer = () => {
        if (world.holding) return void setTimeout(answer, 2)
        if (!pending.delete(reject)) return
        resolve(effect())
      }
      setTimeout(answer, 2)
    })
  }
  return {
    role,
    coldBackend: 'fake',
    // Taken when sent, as the real connection encodes a value when put() is called.
    put: (key: string, value: unknown) => {
      const sentValue = value instanceof HeldValue ? decodeValue(value.bytes) : structuredClone(value)
      return op(() => (world.data.set(key, sentValue), { key }))
    },
    putMany: (items: Array<{ key: string; value: unknown }>) => {
      const sentItems = items.map(({ key, value }) => ({ key, value: value instanceof HeldValue ? decodeValue(value.bytes) : structuredClone(value) }))
      return op(() => sentItems.map(({ key, value }) => (world.data.set(key, value), { key })))
    },
    get: (key: string) => op(() => world.data.get(key)),
    // Answer with the filter or query they were sent.
    query: (filter: object) => {
      const sentFilter = { ...filter }
      return op(() => sentFilter)
    },
    recall: (query: Float32Array) => {
      const sentQuery = Array.from(query)
      return op(() => sentQuery)
    },
    retain: (key: string) => op(() => (world.refCounts.set(key, (world.refCounts.get(key) ?? 0) + 1), world.refCounts.get(key)!)),
    on: async () => () => undefined,
    close: async () => {
      worker.connections.delete(self)
    },
    [SERVE_TAB]: async () => undefined,
    [ABANDON]: () => worker.die(),
  } as unknown as TabConnection
}

/** A tab: openTabMemory over the fakes. */
function openTab(world: World) {
  return openTabMemory({
    name: 'm',
    locks: world.locks as unknown as LockManager,
    broker: new FakePort(world) as unknown as MessagePort,
    lead: async (onLost) => {
      world.worker?.die()
      world.worker = new FakeWorker()
      return connectionTo(world, world.worker, 'leader', onLost)
    },
    follow: (_port, onLost) =>
      world.worker?.alive ? Promise.resolve(connectionTo(world, world.worker, 'follower', onLost)) : new Promise<TabConnection>(() => undefined),
  })
}

/** A turn: calls issued before it have been sent (they take 2 ms to take effect). */
const sent = () => new Promise((resolve) => setTimeout(resolve, 0))

/** The leading tab dies: its worker and every connection to it go, and its lock is freed. */
function killLeader(world: World): void {
  world.worker?.die()
  world.locks.kill('tiermem-leader:m')
}

describe('several tabs, one memory (the logic, with fakes)', () => {
  it('keeps issue order across a change of leader: a put in flight is sent again before a later put of the same key', async () => {
    const world = new World()
    const first = await openTab(world)
    const second = await openTab(world)
    expect([first.role, second.role]).toEqual(['leader', 'follower'])
    const inFlight = second.put('k', 'first')
    await sent()
    killLeader(world)
    const later = second.put('k', 'second')
    await Promise.all([inFlight, later])
    expect(second.role).toBe('leader')
    expect(world.data.get('k')).toBe('second')
    expect(await second.get('k')).toBe('second')
  })

  it('sends a call again to the new leader as it was when called (a put’s value, a query’s filter), not as the caller changed it since', async () => {
    const world = new World()
    await openTab(world)
    const second = await openTab(world)
    world.holding = true
    const draft = { text: 'first' }
    const inFlight = second.put('k', draft)
    const many = [{ key: 'm', value: draft }]
    const manyInFlight = second.putMany(many)
    const query = Float32Array.from([1, 0])
    const recalled = second.recall(query)
    const filter = { namespace: 'a' }
    const queried = second.query(filter)
    await sent()
    filter.namespace = 'b'
    many[0]!.key = 'other'
    query[0] = 7
    // The caller reuses its object once put() has returned; the put is still unanswered.
    draft.text = 'changed'
    killLeader(world)
    world.holding = false
    await Promise.all([inFlight, manyInFlight])
    expect(second.role).toBe('leader')
    expect(world.data.get('k')).toEqual({ text: 'first' })
    expect(world.data.get('m')).toEqual({ text: 'first' })
    expect(world.data.has('other')).toBe(false)
    expect(await recalled).toEqual([1, 0])
    expect(await queried).toEqual({ namespace: 'a' })
  })

  it('rejects a call that is not safe to repeat with LEADER_CHANGED, and never applies it twice', async () => {
    const world = new World()
    await openTab(world)
    const second = await openTab(world)
    // Held in flight: under load a fixed wait could let the call be answered before the kill.
    world.holding = true
    const retained = second.retain('k')
    await sent()
    killLeader(world)
    world.holding = false
    await expect(retained).rejects.toMatchObject({ code: 'LEADER_CHANGED' })
    expect(world.refCounts.get('k') ?? 0).toBe(0)
    // A call sent after the change is a new call, not a repeat.
    expect(await second.retain('k')).toBe(1)
  })

  it('a third tab follows the new leader after the first one dies', async () => {
    const world = new World()
    await openTab(world)
    const second = await openTab(world)
    const third = await openTab(world)
    killLeader(world)
    await third.put('after', 1)
    expect([second.role, third.role].sort()).toEqual(['follower', 'leader'])
    expect(await second.get('after')).toBe(1)
  })
})

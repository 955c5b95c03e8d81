import { TiermemError } from './errors.ts'
import type { ChangeFeed } from '../engine/change-feed.ts'
import { reportUncaught } from '../engine/report-uncaught.ts'
import type { MemoryEvents } from './types.ts'

/** Every event name, once: the compiler rejects this record if MemoryEvents gains or loses one. */
const EVENT_NAMES: { readonly [E in keyof MemoryEvents]: true } = {
  promoted: true,
  demoted: true,
  evicted: true,
  pressure: true,
  alert: true,
  cleanup: true,
  layerChanged: true,
  reembedded: true,
}
export const MEMORY_EVENTS = Object.keys(EVENT_NAMES) as ReadonlyArray<keyof MemoryEvents>

/** `on()`'s arguments, checked the same way in both entries: a misspelt event would never fire. */
export function checkSubscription(event: unknown, handler: unknown): void {
  if (typeof event !== 'string' || !Object.hasOwn(EVENT_NAMES, event)) {
    throw new TiermemError('INVALID_OPTION', `on() knows no event ${JSON.stringify(event)}; events are ${MEMORY_EVENTS.join(', ')}`)
  }
  if (typeof handler !== 'function') throw new TiermemError('INVALID_OPTION', 'on() needs a handler function')
}

type Handler<E extends keyof MemoryEvents> = (event: MemoryEvents[E]) => void

/**
 * Typed events. Emitting with no listener costs one property read. A handler that throws does
 * not stop the others nor the engine: its error is reported the way the platform reports
 * uncaught errors (reportError where it exists, else an uncaught exception in a microtask).
 */
export class EventBus {
  private readonly handlers: { [E in keyof MemoryEvents]?: Array<Handler<E>> } = {}

  on<E extends keyof MemoryEvents>(event: E, handler: Handler<E>): () => void {
    const list = (this.handlers[event] ??= []) as Array<Handler<E>>
    list.push(handler)
    return () => {
      const index = list.indexOf(handler)
      if (index >= 0) list.splice(index, 1)
    }
  }

  has(event: keyof MemoryEvents): boolean {
    return (this.handlers[event]?.length ?? 0) > 0
  }

  emit<E extends keyof MemoryEvents>(event: E, payload: MemoryEvents[E]): void {
    const list = this.handlers[event] as Array<Handler<E>> | undefined
    if (!list || list.length === 0) return
    for (const handler of [...list]) {
      try {
        handler(payload)
      } catch (error) {
        reportUncaught(error)
      }
    }
  }
}

const TIER_RANK: Record<string, number> = { hot: 0, warm: 1, cold: 2 }

/** The public events of entry changes are the change feed, told the way API.md names them. */
export function emitEventsOf(feed: ChangeFeed, events: EventBus): void {
  feed.subscribe(
    (change) => {
      switch (change.kind) {
        case 'delete':
          if (events.has('evicted'))
            events.emit('evicted', { key: change.key, namespace: change.namespace, reason: change.reason, sizeBytes: change.sizeBytes })
          return
        case 'tier': {
          const event = TIER_RANK[change.to]! < TIER_RANK[change.from]! ? 'promoted' : 'demoted'
          if (events.has(event)) events.emit(event, { key: change.key, namespace: change.namespace, from: change.from, to: change.to })
          return
        }
        case 'layer': {
          if (!events.has('layerChanged')) return
          const event: MemoryEvents['layerChanged'] = { key: change.key, namespace: change.namespace, from: change.from, to: change.to, reason: change.reason }
          if (change.score !== undefined) event.score = change.score
          events.emit('layerChanged', event)
          return
        }
        default:
      }
    },
    ['delete', 'tier', 'layer'],
  )
}

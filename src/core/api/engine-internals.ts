import type { EngineContext } from '../engine/engine-context.ts'
import { enqueuePutItems, preparePut, type PreparedPut } from '../engine/put-pipeline.ts'
import { readMany, readOne } from '../engine/read-path.ts'
import { copyBytes } from '../persistence/codec.ts'
import { closedError, putAll } from './calls.ts'
import { EncodedValue, type EngineInternals } from './internals.ts'
import type { EntryInfo } from './types.ts'
import { checkKey, checkNamespace } from './validate.ts'
import { entryVectors } from '../embeddings/entry-vectors.ts'

/** What the worker host uses beside the Memory surface: encoded values in and out, signals from the page, the change feed. */
export function engineInternals(ctx: EngineContext): EngineInternals {
  return {
    putEncoded(items) {
      return putAll(ctx, items.length, () => items.map(({ key, bytes, ...options }) => preparePut(ctx, key, undefined, options, undefined, bytes)))
    },
    putEncodedEach(items) {
      if (ctx.closing) return Promise.reject(closedError())
      const results: Array<Promise<EntryInfo>> = []
      const prepared: PreparedPut[] = []
      const slots: number[] = []
      items.forEach(({ key, bytes, ...options }, i) => {
        try {
          prepared.push(preparePut(ctx, key, undefined, options, undefined, bytes))
          slots.push(i)
        } catch (reason) {
          results[i] = Promise.reject(reason)
        }
      })
      enqueuePutItems(ctx, prepared).forEach((promise, j) => (results[slots[j]!] = promise))
      return Promise.allSettled(results)
    },
    reportSignal(signal) {
      if (signal.limit > 0) ctx.externalSignals.set(signal.source, { ...signal, ratio: signal.used / signal.limit })
      else ctx.externalSignals.delete(signal.source)
    },
    changes(subscriber) {
      return ctx.feed.subscribe(subscriber)
    },
    vectorOf(key, options) {
      checkKey(key)
      return entryVectors(ctx).vectorOf(checkNamespace(options?.namespace), key)
    },
    async getRaw(keys, options, access = true) {
      if (ctx.closing) throw closedError()
      keys.forEach(checkKey)
      // The bytes are copied: the engine may still use its own (to promote the entry).
      const raw = (bytes: Uint8Array) => new EncodedValue(copyBytes(bytes))
      const namespace = checkNamespace(options?.namespace)
      if (!access) return [await readOne(ctx, namespace, keys[0]!, raw, false)]
      return keys.length === 1 ? [await readOne(ctx, namespace, keys[0]!, raw)] : readMany(ctx, namespace, keys, raw)
    },
  }
}

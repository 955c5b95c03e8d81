import type { EngineContext } from '../engine/engine-context.ts'
import { enqueuePuts, preparePut } from '../engine/put-pipeline.ts'
import { removeEntries } from '../engine/removal.ts'
import { demoteHotToWarm, moveFromCold, moveToCold, promoteWarmToHot } from '../lifecycle/tier-moves.ts'
import { clearDamage, verifyContent } from '../persistence/integrity.ts'
import { readWarm } from '../persistence/warm-values.ts'
import { storeKeyOf } from '../registry/entry-record.ts'
import { COLD, DURABLE, HOT, TIER_NAMES, WARM } from '../registry/registry.ts'
import { closedError, mutate, mutateEntry, putAll, setRefCount } from './calls.ts'
import { TiermemError } from './errors.ts'
import type { EntryInfo, Memory, PutOptions, Tier } from './types.ts'
import { checkKey, checkNamespace } from './validate.ts'

/** Entries one clear() transaction removes. */
const CLEAR_BATCH = 1000

/** clear()'s options, checked the same way in both entries: a misspelt namespace must never clear everything. */
export function checkClearOptions(options: unknown): { namespace: string | undefined; onProgress: ((done: number, total: number) => void) | undefined } {
  if (options === undefined) return { namespace: undefined, onProgress: undefined }
  if (typeof options !== 'object' || options === null) throw new TiermemError('INVALID_OPTION', 'clear takes { namespace?, onProgress? }')
  for (const name in options) {
    if (name !== 'namespace' && name !== 'onProgress') throw new TiermemError('INVALID_OPTION', `unknown clear option '${name}'; known: namespace, onProgress`)
  }
  const { namespace, onProgress } = options as { namespace?: unknown; onProgress?: unknown }
  if (onProgress !== undefined && typeof onProgress !== 'function')
    throw new TiermemError('INVALID_OPTION', 'clear onProgress must be a function (done, total) => void')
  return {
    namespace: namespace === undefined ? undefined : checkNamespace(namespace),
    onProgress: onProgress as ((done: number, total: number) => void) | undefined,
  }
}

/** The writes of the Memory surface: puts, deletes, references and tier moves, each in issue order (calls.ts). */
export function entryWrites(ctx: EngineContext): Pick<Memory, 'put' | 'putMany' | 'delete' | 'retain' | 'release' | 'evict' | 'promote' | 'demote' | 'clear'> {
  const { reg } = ctx
  return {
    clear(options) {
      try {
        const { namespace, onProgress } = checkClearOptions(options)
        return mutate(ctx, 'all', async () => {
          const slots: number[] = []
          // Expired entries gc has not reached yet go too, but were no longer there to count.
          const now = ctx.clock.now()
          let live = 0
          for (const slot of reg.slots()) {
            if (namespace !== undefined && reg.namespaces[slot] !== namespace) continue
            slots.push(slot)
            if (reg.expiresAt[slot]! > now) live++
          }
          // In batches: each is one transaction, and reads issued after the clear wait for all of it.
          for (let done = 0; done < slots.length;) {
            const batch = slots.slice(done, done + CLEAR_BATCH)
            await removeEntries(ctx, batch, 'manual')
            done += batch.length
            onProgress?.(done, slots.length)
          }
          if (slots.length === 0) onProgress?.(0, 0)
          return live
        })
      } catch (error) {
        return Promise.reject(error)
      }
    },
    put(key: string, value: unknown, options?: PutOptions): Promise<EntryInfo> {
      if (ctx.closing) return Promise.reject(closedError())
      try {
        return enqueuePuts(ctx, [preparePut(ctx, key, value, options)]).then((infos) => infos[0]!)
      } catch (error) {
        return Promise.reject(error)
      }
    },
    putMany(items) {
      return putAll(ctx, Array.isArray(items) ? items.length : 0, () => {
        if (!Array.isArray(items)) throw new TiermemError('INVALID_OPTION', 'putMany takes an array of { key, value, ...options }')
        return items.map((item) => {
          if (typeof item !== 'object' || item === null) throw new TiermemError('INVALID_OPTION', 'putMany items are objects { key, value, ...options }')
          const { key, value, ...options } = item
          return preparePut(ctx, key, value, options)
        })
      })
    },
    delete(key, options) {
      try {
        checkKey(key)
        const namespace = checkNamespace(options?.namespace)
        const storeKey = storeKeyOf(namespace, key)
        return mutate(ctx, [storeKey], async () => {
          const slot = reg.find(namespace, key)
          if (slot < 0) {
            // An entry whose metadata was damaged is gone from the registry; deleting it ends the report.
            const damaged = ctx.integrity.lostMetadata.has(storeKey)
            clearDamage(ctx, storeKey)
            return damaged
          }
          // An expired entry is removed all the same, but it was no longer there to delete.
          const live = reg.expiresAt[slot]! > ctx.clock.now()
          await removeEntries(ctx, [slot], live ? 'manual' : 'expired')
          return live
        })
      } catch (error) {
        return Promise.reject(error)
      }
    },
    retain(key, options) {
      return mutateEntry(ctx, key, options, async (slot) => {
        await setRefCount(ctx, slot, reg.refCount[slot]! + 1)
        return reg.refCount[slot]!
      })
    },
    release(key, options) {
      return mutateEntry(
        ctx,
        key,
        options,
        async (slot) => {
          if (reg.refCount[slot] === 0) {
            throw new TiermemError('NOT_HELD', `'${key}' is not held (refCount 0); release only what you retained`)
          }
          await setRefCount(ctx, slot, reg.refCount[slot]! - 1)
          return reg.refCount[slot]!
        },
        'found',
      )
    },
    evict(key, options) {
      return mutateEntry(ctx, key, options, async (slot) => {
        if (reg.refCount[slot]! > 0) {
          throw new TiermemError('REF_HELD', `'${key}' is held (refCount ${reg.refCount[slot]}); release it before evicting`)
        }
        await removeEntries(ctx, [slot], 'manual')
      })
    },
    promote(key, options) {
      return mutateEntry(ctx, key, options, async (slot): Promise<Tier> => {
        if (reg.tier[slot] === WARM) {
          const [bytes] = await readWarm(ctx, [slot], true)
          if (!bytes) throw new TiermemError('CORRUPT', `the warm value of '${key}' is missing`)
          verifyContent(ctx, slot, bytes)
          promoteWarmToHot(ctx, slot, bytes)
        } else if (reg.tier[slot] === COLD) {
          await moveFromCold(ctx, slot, false)
        }
        return TIER_NAMES[reg.tier[slot] as 0 | 1 | 2]
      })
    },
    demote(key, options) {
      return mutateEntry(ctx, key, options, async (slot): Promise<Tier> => {
        // A durable: false entry has no lower tier to go to; it stays hot.
        if (reg.tier[slot] === HOT && reg.flags[slot]! & DURABLE) demoteHotToWarm(ctx, slot)
        else if (reg.tier[slot] === WARM) await moveToCold(ctx, [slot])
        return TIER_NAMES[reg.tier[slot] as 0 | 1 | 2]
      })
    },
  }
}

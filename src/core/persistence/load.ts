import type { Store, StoreOp } from '../store/store.ts'
import { commit, reportBackgroundError, type EngineContext } from '../engine/engine-context.ts'
import { readRecord, slotOfStoreKey, storeKeyOf, writeRecord } from '../registry/entry-record.ts'
import { noteDamage } from './integrity.ts'
import { commitChanges, replayStoredRegistry, type Change } from './journal.ts'
import { COLD, DURABLE, REFERENCED, STATS_DIRTY } from '../registry/registry.ts'
import { PAGE_RANGE, parsePageKey } from './warm-pages.ts'
import { reclaimPages } from './warm-values.ts'

const PAGE = 2000

/**
 * Fills the registry from the warm store's journal (at open) and deletes journal leftovers and
 * warm pages no record names (a crash between a page's last use and its delete).
 */
export async function loadRegistry(ctx: EngineContext): Promise<number> {
  const { reg } = ctx
  // Pages first: each record placed below counts itself in its page.
  await eachKeyPage(ctx.warm, PAGE_RANGE, (keys) => {
    for (const key of keys) {
      const page = parsePageKey(key)
      if (page) reg.pages.add(page.id, key, page.bytes)
    }
  })
  const damaged = ctx.integrity.lostMetadata
  const { state, garbage } = await replayStoredRegistry(ctx.warm, {
    upsert(record) {
      if (damaged.size !== 0) damaged.delete(storeKeyOf(record.namespace, record.key))
      let slot = reg.find(record.namespace, record.key)
      if (slot < 0) slot = reg.allocate(record.namespace, record.key)
      else reg.detach(slot)
      writeRecord(reg, slot, record)
      reg.attach(slot)
      if (record.refCount === 0 && record.flags & REFERENCED) ctx.orphans.add(slot)
      else ctx.orphans.delete(slot)
    },
    remove(storeKey) {
      if (damaged.size !== 0) damaged.delete(storeKey)
      const slot = slotOfStoreKey(reg, storeKey)
      if (slot < 0) return
      ctx.orphans.delete(slot)
      reg.remove(slot)
    },
    // What this entry is after a change that failed its check is not known: it leaves the
    // registry, and reads of its key answer CORRUPT until a later change (here or after open) replaces it.
    damaged(storeKey) {
      damaged.add(storeKey)
      const slot = slotOfStoreKey(reg, storeKey)
      if (slot < 0) return
      ctx.orphans.delete(slot)
      reg.remove(slot)
    },
  })
  for (const storeKey of damaged) {
    const split = storeKey.indexOf('\u0000')
    noteDamage(ctx, storeKey.slice(0, split), storeKey.slice(split + 1), 'metadata')
  }
  ctx.journal = state
  ctx.feed.nextSeq = Math.max(ctx.feed.nextSeq, state.feedSeq)
  await commit(
    ctx.warm,
    garbage.map((key) => ({ type: 'delete' as const, space: 'meta' as const, key })),
  )
  await reclaimPages(ctx)
  reg.pages.findSparse()
  return reg.size
}

/** Lists a store's value keys in a range, a page at a time; keys only where the store can. */
async function eachKeyPage(store: Store, range: { after?: string; before?: string }, visit: (keys: string[]) => Promise<void> | void): Promise<void> {
  let after = range.after
  for (;;) {
    const scan = { ...range, after, limit: PAGE }
    // Keys only where the store can list them: reading values would inflate the whole cold tier.
    const keys = store.keys ? await store.keys('values', scan) : (await store.scan('values', scan)).map(([key]) => key)
    await visit(keys)
    if (keys.length < PAGE) return
    after = keys[keys.length - 1]!
  }
}

/**
 * Deletes cold records the registry does not name as cold: leftovers of a crash between a
 * cold write and the metadata flip, or between a flip and the cold delete.
 */
export async function sweepCold(ctx: EngineContext): Promise<number> {
  const { reg } = ctx
  let swept = 0
  await eachKeyPage(ctx.cold, {}, async (keys) => {
    const garbage: StoreOp[] = []
    for (const key of keys) {
      const slot = slotOfStoreKey(reg, key)
      if (slot < 0 || reg.tier[slot] !== COLD) garbage.push({ type: 'delete', space: 'values', key })
    }
    await commit(ctx.cold, garbage)
    swept += garbage.length
  })
  return swept
}

/**
 * Persists access statistics that changed since the last time (lane only). They are written
 * lazily by design: a crash may lose recent statistics, never an entry.
 */
export async function persistStats(ctx: EngineContext): Promise<number> {
  const { reg } = ctx
  const changes: Change[] = []
  const end = reg.flags.length
  for (let slot = 0; slot < end; slot++) {
    if ((reg.flags[slot]! & (STATS_DIRTY | DURABLE)) !== (STATS_DIRTY | DURABLE)) continue
    changes.push({ entry: readRecord(reg, slot), apply: () => (reg.flags[slot]! &= ~STATS_DIRTY) })
  }
  try {
    await commitChanges(ctx, changes)
  } catch (error) {
    reportBackgroundError(ctx, 'stats-persist-failed', error)
  }
  return changes.length
}

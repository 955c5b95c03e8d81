import { reportBackgroundError, storeKey, type EngineContext } from '../engine/engine-context.ts'
import { readRecord } from '../registry/entry-record.ts'
import { commitChanges, type Change } from './journal.ts'
import { packIntoPages, readWarm, withEmptiedPages, type Packable } from './warm-values.ts'

/** Pages one gc rewrites at most: a bounded step (~2 MiB of reads at the default page size). */
const PAGES_PER_GC = 64

/**
 * Rewrites warm pages most of whose bytes no entry names any more (gc, lane only). A page
 * keeps its dead bytes until its last entry leaves; an agent that replaces most of a bulk load
 * would otherwise keep paying for it. The live values are packed into new pages in the same
 * atomic batches as the records that name them, then the old pages are deleted once nothing
 * names them. A failure is reported and leaves every entry where it was. Returns the pages rewritten
 * (0 after a failure).
 */
export async function compactPages(ctx: EngineContext): Promise<number> {
  const { reg } = ctx
  const ids = reg.pages.takeSparse(PAGES_PER_GC)
  if (ids.length === 0) return 0
  const sparse = new Set(ids)
  const slots: number[] = []
  for (let slot = 0; slot < reg.capacity; slot++) {
    const page = reg.page[slot]!
    if (page !== 0 && sparse.has(page)) slots.push(slot)
  }
  try {
    const values = await readWarm(ctx, slots, false, true)
    const items: Packable[] = []
    slots.forEach((slot, i) => {
      const bytes = values[i]
      if (!bytes) return // unreadable: left where it is; a read reports it as CORRUPT
      const record = readRecord(reg, slot)
      record.page = 0
      record.pageOffset = 0
      // Stored alone unless packing puts it in a new page (a lone survivor stays alone).
      const change: Change = {
        ops: [{ type: 'put', space: 'values', key: storeKey(ctx, slot), value: bytes }],
        entry: record,
        apply: () => reg.setLocation(slot, record.page, record.pageOffset),
      }
      items.push({ change, record, bytes })
    })
    packIntoPages(ctx, items)
    // The old pages go in the same batch as the records that stop naming them.
    const rewritten = slots.filter((_, i) => values[i] !== undefined)
    await commitChanges(
      ctx,
      withEmptiedPages(
        ctx,
        items.map((item) => item.change),
        rewritten,
      ),
    )
  } catch (error) {
    reportBackgroundError(ctx, 'warm-page-compaction-failed', error)
    return 0
  }
  return ids.length
}

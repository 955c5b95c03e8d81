import type { EntryInfo, Memory, QueryFilter, Tier } from 'tiermem'
import { byId, bytes, clock, element } from './format.ts'

/** The entry browser: a query by namespace / type / tier / layer / tag, and each entry's metadata. */
export function createEntryBrowser(mem: Memory): () => Promise<void> {
  const value = (id: string) => byId<HTMLInputElement | HTMLSelectElement>(id).value.trim()
  const refresh = async () => {
    const filter: QueryFilter = { limit: 200 }
    if (value('q-namespace')) filter.namespace = value('q-namespace')
    if (value('q-type')) filter.type = value('q-type')
    if (value('q-tier')) filter.tier = value('q-tier') as Tier
    if (value('q-layer')) filter.layer = value('q-layer')
    if (value('q-tag')) filter.tag = value('q-tag')
    const entries = (await mem.query(filter)).sort((a, b) => b.lastAccessedAt - a.lastAccessedAt)
    byId('entries')
      .querySelector('tbody')!
      .replaceChildren(...entries.slice(0, 100).map(row))
  }
  byId('query-form').addEventListener('submit', (event) => {
    event.preventDefault()
    void refresh()
  })
  return refresh
}

function row(e: EntryInfo): HTMLTableRowElement {
  const cells = [
    e.key,
    e.type,
    e.tier,
    e.layer,
    e.importance.toFixed(2),
    bytes(e.sizeBytes),
    String(e.accessCount),
    clock(e.lastAccessedAt),
    String(e.refCount),
    e.tags.join(', '),
  ]
  return element(
    'tr',
    { dataset: { key: e.key } },
    cells.map((text, i) => element('td', { textContent: text, className: i === 2 ? `tier-${e.tier}` : '', title: text })),
  )
}

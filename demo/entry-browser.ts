import type { EntryInfo, Memory, QueryFilter, Tier } from 'tiermem'
import { byId, bytes, clock, element } from './format.ts'

/** Rows shown at most; the query itself is not limited, so the newest entries are always among them. */
const SHOWN = 100
/** Values searched for text at most per query (each is one peek through the worker). */
const SEARCHED = 1_000

/**
 * The entry browser: a query by namespace / type / tier / layer / tag, optionally text found in
 * the key or the value, newest first; click a row to see its value. Values are read with peek(),
 * so browsing counts no access and moves nothing between tiers.
 */
export function createEntryBrowser(mem: Memory): () => Promise<void> {
  const value = (id: string) => byId<HTMLInputElement | HTMLSelectElement>(id).value.trim()
  let selected: { key: string; namespace: string } | undefined
  const refresh = async () => {
    const filter: QueryFilter = {}
    if (value('q-namespace')) filter.namespace = value('q-namespace')
    if (value('q-type')) filter.type = value('q-type')
    if (value('q-tier')) filter.tier = value('q-tier') as Tier
    if (value('q-layer')) filter.layer = value('q-layer')
    if (value('q-tag')) filter.tag = value('q-tag')
    let entries = (await mem.query(filter)).sort((a, b) => b.createdAt - a.createdAt)
    const text = value('q-text').toLowerCase()
    if (text) entries = await withText(mem, entries, text)
    byId('entries-count').textContent = text
      ? `${entries.length} containing “${text}”${entries.length > SHOWN ? `, newest ${SHOWN} shown` : ''}`
      : `${entries.length} entries${entries.length > SHOWN ? `, newest ${SHOWN} shown` : ''}`
    byId('entries')
      .querySelector('tbody')!
      .replaceChildren(...entries.slice(0, SHOWN).map((e) => row(e, e.key === selected?.key && e.namespace === selected.namespace)))
  }
  byId('query-form').addEventListener('submit', (event) => {
    event.preventDefault()
    void refresh()
  })
  byId('entries').addEventListener('click', (event) => {
    const tr = (event.target as HTMLElement).closest('tr[data-key]') as HTMLTableRowElement | null
    if (!tr) return
    selected = { key: tr.dataset.key!, namespace: tr.dataset.namespace! }
    for (const other of tr.parentElement!.children) other.classList.toggle('selected', other === tr)
    void showValue(mem, selected.key, selected.namespace)
  })
  return refresh
}

/** The entries (newest first) whose key or value contains the text, among the first SEARCHED. */
async function withText(mem: Memory, entries: EntryInfo[], text: string): Promise<EntryInfo[]> {
  const searched = entries.slice(0, SEARCHED)
  const values = await Promise.all(searched.map((e) => mem.peek(e.key, { namespace: e.namespace }).catch(() => undefined)))
  return searched.filter((e, i) => e.key.toLowerCase().includes(text) || stringify(values[i]).toLowerCase().includes(text))
}

async function showValue(mem: Memory, key: string, namespace: string): Promise<void> {
  const panel = byId('entry-value')
  byId('entry-value-key').textContent = namespace === 'default' ? key : `${namespace} / ${key}`
  try {
    const [value, info] = await Promise.all([mem.peek(key, { namespace }), mem.getEntry(key, { namespace })])
    byId('entry-value-meta').textContent = info ? `${info.type} · ${info.tier} · ${info.layer} · ${bytes(info.sizeBytes)} · read ${info.accessCount}×` : 'gone'
    byId('entry-value-body').textContent = info ? stringify(value, 2) : 'This entry is no longer stored (expired, evicted or deleted).'
  } catch (error) {
    byId('entry-value-meta').textContent = ''
    byId('entry-value-body').textContent = `could not read it: ${error instanceof Error ? error.message : String(error)}`
  }
  panel.hidden = false
}

/** JSON, with the values JSON has no form for (Map, Set, binary, BigInt) shown readably. */
function stringify(value: unknown, indent?: number): string {
  if (value === undefined) return 'undefined'
  return JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (v instanceof Map) return { Map: [...v.entries()] }
      if (v instanceof Set) return { Set: [...v.values()] }
      if (typeof v === 'bigint') return `${v}n`
      if (ArrayBuffer.isView(v)) return `<${v.constructor.name} of ${v.byteLength} bytes>`
      if (v instanceof ArrayBuffer) return `<ArrayBuffer of ${v.byteLength} bytes>`
      return v
    },
    indent,
  )
}

function row(e: EntryInfo, selected: boolean): HTMLTableRowElement {
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
    { dataset: { key: e.key, namespace: e.namespace }, className: selected ? 'selected' : '', title: 'show the value' },
    cells.map((text, i) => element('td', { textContent: text, className: i === 2 ? `tier-${e.tier}` : '', title: text })),
  )
}

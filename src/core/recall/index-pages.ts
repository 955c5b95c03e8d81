import type { HnswArrays, HnswShape, HnswState } from './hnsw-graph.ts'

/**
 * The vector index as it is saved: a head and pages of PAGE_NODES nodes each, entries of the
 * reserved namespace INDEX_NAMESPACE, written together (one unit) so a saved index is always one
 * consistent picture. Pages rather than one value: a save rewrites only the pages changed since
 * the last one, and each page is an ordinary entry the engine keeps in its tiers.
 */
export const INDEX_NAMESPACE = 'tiermem:index'
export const HEAD_KEY = 'head'
export const PAGE_NODES = 256
export const INDEX_FORMAT = 1

/** The graph's own figures (HnswState without its arrays), the format, and how many pages follow. */
export interface IndexHead extends Pick<HnswState, 'dims' | 'params' | 'count' | 'entry' | 'maxLevel' | 'rng'> {
  format: number
  pages: number
}

/** Nodes [page × PAGE_NODES, …) of the graph, with the vector entry each node stands for. */
export interface IndexPage extends HnswArrays, NodeNames {
  /** Links of levels 1.. per node ([] for a node with none). */
  upper: Int32Array[][]
}

/** What the index knows of each node beyond the graph (index = node number). */
export interface NodeNames {
  /** Per node: the vector entry's key, the namespace and key of the entry it belongs to, and the embedder that made the vector ('' for a vector given to put). */
  keys: string[]
  namespaces: string[]
  entries: string[]
  models: string[]
}

type ArrayField = keyof HnswArrays
type TypedArray = HnswArrays[ArrayField]

/** Each per-node array, its type, and how many elements a node has in it (m0: links at level 0). */
const ARRAYS: ReadonlyArray<{ field: ArrayField; type: new (length: number) => TypedArray; width: (dims: number, m0: number) => number }> = [
  { field: 'codes', type: Int8Array, width: (dims) => dims },
  { field: 'scales', type: Float32Array, width: () => 1 },
  { field: 'levels', type: Uint8Array, width: () => 1 },
  { field: 'deleted', type: Uint8Array, width: () => 1 },
  { field: 'links0', type: Int32Array, width: (_, m0) => m0 },
  { field: 'degree0', type: Uint8Array, width: () => 1 },
]
const NAMES: ReadonlyArray<keyof NodeNames> = ['keys', 'namespaces', 'entries', 'models']

export const pageKey = (page: number) => `p${String(page).padStart(6, '0')}`

export function headOf(state: HnswShape): IndexHead {
  const { dims, params, count, entry, maxLevel, rng } = state
  return { format: INDEX_FORMAT, dims, params, count, entry, maxLevel, rng, pages: Math.ceil(count / PAGE_NODES) }
}

/** One page of the graph, with its nodes' codes (copies: the saved page must not change with the graph). */
export function cutPage(state: HnswShape, names: NodeNames, page: number, codes: Int8Array): IndexPage {
  const from = page * PAGE_NODES
  const to = Math.min(state.count, from + PAGE_NODES)
  const m0 = state.params.m * 2
  const cut = { codes } as IndexPage
  for (const { field, width } of ARRAYS) {
    if (field === 'codes') continue
    const w = width(state.dims, m0)
    ;(cut as unknown as Record<ArrayField, TypedArray>)[field] = state[field].slice(from * w, to * w)
  }
  for (const name of NAMES) cut[name] = names[name].slice(from, to)
  cut.upper = Array.from({ length: to - from }, (_, i) => (state.upper[from + i] ?? []).map((links) => links.slice()))
  return cut
}

/** The graph's state and node keys from a head and all its pages, or undefined if a page does not fit the head. */
export function joinPages(head: IndexHead, pages: readonly unknown[]): ({ state: HnswState } & NodeNames) | undefined {
  const { dims, count } = head
  const m0 = head.params.m * 2
  const capacity = Math.max(count, 1)
  const arrays = {} as Record<ArrayField, TypedArray>
  for (const { field, type, width } of ARRAYS) arrays[field] = new type(capacity * width(dims, m0))
  const state: HnswState = {
    ...(arrays as unknown as HnswArrays),
    dims,
    params: head.params,
    count,
    entry: head.entry,
    maxLevel: head.maxLevel,
    rng: head.rng,
    upper: new Array(capacity),
  }
  const names: NodeNames = { keys: [], namespaces: [], entries: [], models: [] }
  for (let p = 0; p < head.pages; p++) {
    const page = pages[p] as IndexPage | undefined
    const from = p * PAGE_NODES
    const n = Math.min(count, from + PAGE_NODES) - from
    if (!fits(page, n, dims, m0)) return undefined
    for (const { field, width } of ARRAYS) (arrays[field] as Uint8Array).set(page[field] as Uint8Array, from * width(dims, m0))
    for (let i = 0; i < n; i++) state.upper[from + i] = page.upper[i]!.length > 0 ? page.upper[i] : undefined
    for (const name of NAMES) names[name].push(...page[name])
  }
  return { state, ...names }
}

/** Whether a stored page is one of n nodes of this graph: every array of its type and length. */
function fits(page: IndexPage | undefined, n: number, dims: number, m0: number): page is IndexPage {
  return (
    page !== undefined &&
    ARRAYS.every(({ field, type, width }) => page[field] instanceof type && page[field].length === n * width(dims, m0)) &&
    Array.isArray(page.upper) &&
    page.upper.length === n &&
    NAMES.every((name) => Array.isArray(page[name]) && page[name].length === n)
  )
}

export function isIndexHead(value: unknown, dims?: number): value is IndexHead {
  const head = value as IndexHead | undefined
  return (
    typeof head === 'object' &&
    head !== null &&
    head.format === INDEX_FORMAT &&
    Number.isInteger(head.count) &&
    Number.isInteger(head.pages) &&
    (dims === undefined || head.dims === dims)
  )
}

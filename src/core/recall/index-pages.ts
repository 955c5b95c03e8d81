import type { HnswState } from './hnsw-graph.ts'

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
export interface IndexPage {
  codes: Int8Array
  scales: Float32Array
  levels: Uint8Array
  deleted: Uint8Array
  links0: Int32Array
  degree0: Uint8Array
  /** Links of levels 1.. per node ([] for a node with none). */
  upper: Int32Array[][]
  /** Per node: the vector entry's key, the namespace and key of the entry it belongs to, and the embedder that made the vector ('' for a vector given to put). */
  keys: string[]
  namespaces: string[]
  entries: string[]
  models: string[]
}

/** What the index knows of each node beyond the graph (index = node number). */
export interface NodeNames {
  keys: string[]
  namespaces: string[]
  entries: string[]
  models: string[]
}

export const pageKey = (page: number) => `p${String(page).padStart(6, '0')}`

export function headOf(state: HnswState): IndexHead {
  const { dims, params, count, entry, maxLevel, rng } = state
  return { format: INDEX_FORMAT, dims, params, count, entry, maxLevel, rng, pages: Math.ceil(count / PAGE_NODES) }
}

/** One page of the graph (copies: the saved page must not change with the graph). */
export function cutPage(state: HnswState, names: NodeNames, page: number): IndexPage {
  const from = page * PAGE_NODES
  const to = Math.min(state.count, from + PAGE_NODES)
  const m0 = state.params.m * 2
  return {
    codes: state.codes.slice(from * state.dims, to * state.dims),
    scales: state.scales.slice(from, to),
    levels: state.levels.slice(from, to),
    deleted: state.deleted.slice(from, to),
    links0: state.links0.slice(from * m0, to * m0),
    degree0: state.degree0.slice(from, to),
    upper: Array.from({ length: to - from }, (_, i) => (state.upper[from + i] ?? []).map((links) => links.slice())),
    keys: names.keys.slice(from, to),
    namespaces: names.namespaces.slice(from, to),
    entries: names.entries.slice(from, to),
    models: names.models.slice(from, to),
  }
}

/** The graph's state and node keys from a head and all its pages, or undefined if a page does not fit the head. */
export function joinPages(head: IndexHead, pages: readonly unknown[]): ({ state: HnswState } & NodeNames) | undefined {
  const { dims, count } = head
  const m0 = head.params.m * 2
  const capacity = Math.max(count, 1)
  const state: HnswState = {
    dims,
    params: head.params,
    count,
    entry: head.entry,
    maxLevel: head.maxLevel,
    rng: head.rng,
    codes: new Int8Array(capacity * dims),
    scales: new Float32Array(capacity),
    levels: new Uint8Array(capacity),
    deleted: new Uint8Array(capacity),
    links0: new Int32Array(capacity * m0),
    degree0: new Uint8Array(capacity),
    upper: new Array(capacity),
  }
  const names: NodeNames = { keys: [], namespaces: [], entries: [], models: [] }
  for (let p = 0; p < head.pages; p++) {
    const page = pages[p] as IndexPage | undefined
    const from = p * PAGE_NODES
    const n = Math.min(count, from + PAGE_NODES) - from
    if (!fits(page, n, dims, m0)) return undefined
    state.codes.set(page.codes, from * dims)
    state.scales.set(page.scales, from)
    state.levels.set(page.levels, from)
    state.deleted.set(page.deleted, from)
    state.links0.set(page.links0, from * m0)
    state.degree0.set(page.degree0, from)
    for (let i = 0; i < n; i++) state.upper[from + i] = page.upper[i]!.length > 0 ? page.upper[i] : undefined
    names.keys.push(...page.keys)
    names.namespaces.push(...page.namespaces)
    names.entries.push(...page.entries)
    names.models.push(...page.models)
  }
  return { state, ...names }
}

function fits(page: IndexPage | undefined, n: number, dims: number, m0: number): page is IndexPage {
  return (
    page !== undefined &&
    page.codes instanceof Int8Array &&
    page.codes.length === n * dims &&
    page.scales instanceof Float32Array &&
    page.scales.length === n &&
    page.levels instanceof Uint8Array &&
    page.levels.length === n &&
    page.deleted instanceof Uint8Array &&
    page.deleted.length === n &&
    page.links0 instanceof Int32Array &&
    page.links0.length === n * m0 &&
    page.degree0 instanceof Uint8Array &&
    page.degree0.length === n &&
    Array.isArray(page.upper) &&
    page.upper.length === n &&
    [page.keys, page.namespaces, page.entries, page.models].every((names) => Array.isArray(names) && names.length === n)
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

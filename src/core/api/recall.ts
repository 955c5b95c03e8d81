import type { EngineContext } from '../engine/engine-context.ts'
import { anyWritePending, inIssueOrder } from '../engine/read-order.ts'
import { MAX_EF } from '../recall/hnsw-graph.ts'
import { vectorIndex } from '../recall/vector-index.ts'
import { closedError } from './calls.ts'
import { TiermemError } from './errors.ts'
import type { RecallHit, RecallOptions } from './types.ts'
import { allFinite, checkNamespace, checkTier } from './validate.ts'

const RECALL_FIELDS = new Set(['k', 'namespace', 'type', 'layer', 'tier', 'minScore', 'efSearch'])
const MAX_K = 10_000

/** Refuses options that are not recall's: a misspelt filter would otherwise match everything. */
export function checkRecallOptions(options: unknown): asserts options is RecallOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new TiermemError('INVALID_OPTION', 'recall takes an options object')
  for (const field in options) {
    if (!RECALL_FIELDS.has(field)) throw new TiermemError('INVALID_OPTION', `unknown recall option '${field}'; known: ${[...RECALL_FIELDS].join(', ')}`)
  }
  const o = options as RecallOptions
  if (o.k !== undefined && !(Number.isInteger(o.k) && o.k >= 0 && o.k <= MAX_K)) {
    throw new TiermemError('INVALID_OPTION', `recall k must be an integer from 0 to ${MAX_K}; got ${String(o.k)}`)
  }
  if (o.namespace !== undefined) checkNamespace(o.namespace)
  if (o.tier !== undefined) checkTier(o.tier)
  for (const name of ['type', 'layer'] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'string') throw new TiermemError('INVALID_OPTION', `recall ${name} must be a string`)
  }
  if (o.minScore !== undefined && !(typeof o.minScore === 'number' && Number.isFinite(o.minScore))) {
    throw new TiermemError('INVALID_OPTION', 'recall minScore must be a finite number (a cosine similarity, -1 to 1)')
  }
  if (o.efSearch !== undefined && !(Number.isInteger(o.efSearch) && o.efSearch >= 1 && o.efSearch <= MAX_EF)) {
    throw new TiermemError('INVALID_OPTION', `recall efSearch must be an integer from 1 to ${MAX_EF}; got ${String(o.efSearch)}`)
  }
}

/**
 * recall(): in issue order with the writes around it. A text's embedding starts now and the
 * search takes its place in the write lane, so it sees every write issued before it and none
 * issued after; a vector with nothing pending (and every code in memory) is searched at once.
 */
export function recall(ctx: EngineContext, query: unknown, options: RecallOptions = {}): Promise<RecallHit[]> {
  if (ctx.closing) return Promise.reject(closedError())
  try {
    checkRecallOptions(options)
    if (typeof query === 'string') {
      if (!ctx.embeddings) {
        throw new TiermemError(
          'EMBEDDER_MISSING',
          'recall of a text needs an embedder: open the memory with { embeddings: { embedder } }, or pass a Float32Array',
        )
      }
    } else if (!(query instanceof Float32Array) || query.length === 0 || !allFinite(query)) {
      throw new TiermemError('INVALID_VALUE', 'recall takes a text or a non-empty Float32Array of finite numbers')
    }
  } catch (error) {
    return Promise.reject(error)
  }
  const index = vectorIndex(ctx)
  const owned = { ...options }
  if (typeof query === 'string') {
    const embedded = ctx.embeddings!.embed([query])
    // Rejections are the recall's, awaited in the lane below; never unhandled meanwhile.
    embedded.catch(() => undefined)
    return ctx.lane.run(async () => index.search((await embedded)[0]!, owned))
  }
  // A graph that reads codes from storage mid-walk searches in the lane: no later write lands meanwhile.
  const waits = anyWritePending(ctx) || index.behind || index.paged
  // The caller's array may change after this call returns. A search that runs now makes its unit
  // query before returning; one that waits for the lane uses a copy.
  const vector = waits ? (query as Float32Array).slice() : (query as Float32Array)
  return inIssueOrder(ctx, waits, () => index.search(vector, owned))
}

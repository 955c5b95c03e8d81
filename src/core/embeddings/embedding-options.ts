import { TiermemError } from '../api/errors.ts'
import type { EmbeddingOptions } from '../api/types.ts'
import { MAX_EF } from '../recall/hnsw-graph.ts'

const invalid = (message: string) => new TiermemError('INVALID_OPTION', message)

/** createMemory's `embeddings`, checked before anything opens. */
export function checkEmbeddingOptions(options: unknown): EmbeddingOptions | undefined {
  if (options === undefined) return undefined
  if (typeof options !== 'object' || options === null) throw invalid('embeddings must be { embedder?, cache?, index? }')
  const { embedder, cache, index } = options as EmbeddingOptions
  if (embedder !== undefined) {
    if (typeof embedder !== 'object' || embedder === null || typeof embedder.embed !== 'function') {
      throw invalid('embeddings.embedder must have embed(texts), id and dims')
    }
    if (typeof embedder.id !== 'string' || embedder.id.length === 0)
      throw invalid('embeddings.embedder.id must be a non-empty string (model, weights, pooling)')
    if (!Number.isInteger(embedder.dims) || embedder.dims < 1)
      throw invalid(`embeddings.embedder.dims must be a positive integer; got ${String(embedder.dims)}`)
  }
  if (cache !== undefined) {
    if (typeof cache !== 'object' || cache === null) throw invalid('embeddings.cache must be { maxEntries?, maxBytes?, quantize? }')
    for (const name of ['maxEntries', 'maxBytes'] as const) {
      const value = cache[name]
      if (value !== undefined && !(typeof value === 'number' && value >= 1))
        throw invalid(`embeddings.cache.${name} must be a number ≥ 1; got ${String(value)}`)
    }
    if (cache.quantize !== undefined && typeof cache.quantize !== 'boolean') throw invalid('embeddings.cache.quantize must be a boolean')
  }
  if (index !== undefined) {
    if (typeof index !== 'object' || index === null) throw invalid('embeddings.index must be { m?, efConstruction?, efSearch?, maxResidentBytes? }')
    for (const [name, least] of [
      ['m', 2],
      ['efConstruction', 1],
      ['efSearch', 1],
    ] as const) {
      const value = index[name]
      const most = name === 'm' ? 100 : MAX_EF
      if (value !== undefined && !(Number.isInteger(value) && value >= least && value <= most))
        throw invalid(`embeddings.index.${name} must be an integer from ${least} to ${most}; got ${String(value)}`)
    }
    const { maxResidentBytes } = index
    if (maxResidentBytes !== undefined && !(typeof maxResidentBytes === 'number' && maxResidentBytes >= 1))
      throw invalid(`embeddings.index.maxResidentBytes must be a number of bytes ≥ 1 (Infinity: every code in memory); got ${String(maxResidentBytes)}`)
  }
  return { ...(embedder ? { embedder } : {}), ...(cache ? { cache } : {}), ...(index ? { index } : {}) }
}

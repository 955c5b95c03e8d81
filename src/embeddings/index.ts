/**
 * `tiermem/embeddings`: on-device text embeddings over transformers.js (an optional peer
 * dependency, loaded only by this entry).
 *
 * @module tiermem/embeddings
 */
export { createEmbedder, type EmbedderOptions } from './create-embedder.ts'
export type { Embedder } from '../core/api/types.ts'
export { embeddingWorker } from './embedding-worker.ts'
export type { EmbedderModelOptions, EmbedderProgress } from '../core/api/types.ts'

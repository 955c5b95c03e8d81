/**
 * Starts tiermem's worker with an embedder: pass it to `openMemory({ worker: embeddingWorker(),
 * embeddings: { model } })` and the worker loads the model next to the engine. Its own file
 * (`new Worker(new URL(...))` written out whole, which bundlers follow), referenced only from
 * this entry, so apps without embeddings never bundle transformers.js.
 */
export function embeddingWorker(name = 'tiermem:embeddings'): Worker {
  return new Worker(new URL('../../worker/tiermem-embeddings.worker.ts', import.meta.url), { type: 'module', name })
}

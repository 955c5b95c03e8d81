/// <reference types="vite/client" />
import ortMjs from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url'
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url'
import type { EmbedderProgress, MemoryStats, RemoteMemory } from 'tiermem'
import { byId, bytes, percent } from './format.ts'

/** The tiny test model the dev server and the build serve under /models/ (no network); ?model=<hub id> loads a real one. */
const TINY = 'tiermem/tiny-bert'

export function chosenModel(): string {
  return new URLSearchParams(location.search).get('model') ?? TINY
}

/** openMemory's `embeddings` for the chosen model, with its download shown on the progress bar. */
export function embeddingOptions() {
  const model = chosenModel()
  const bar = byId<HTMLProgressElement>('embed-progress')
  const loaded = new Map<string, { loaded: number; total: number }>()
  byId('embed-model').textContent = model === TINY ? 'tiny test model' : model
  byId('embed-status').textContent = 'loading the model in the worker…'
  bar.hidden = false
  return {
    model: { model, dtype: 'q8' as const, localModelPath: '/models/', allowRemoteModels: model !== TINY, wasmPaths: { mjs: ortMjs, wasm: ortWasm } },
    cache: { maxEntries: 10_000 },
    onProgress(progress: EmbedderProgress) {
      loaded.set(progress.file, progress)
      const files = [...loaded.values()]
      const total = files.reduce((sum, f) => sum + f.total, 0)
      bar.value = total === 0 ? 0 : files.reduce((sum, f) => sum + f.loaded, 0) / total
      byId('embed-status').textContent = `downloading ${progress.file}: ${bytes(progress.loaded)} of ${bytes(progress.total)}`
    },
  }
}

export function modelReady(dims: number | undefined, failure?: string): void {
  byId<HTMLProgressElement>('embed-progress').hidden = true
  byId('embed-status').textContent = failure ? `no embeddings: ${failure}` : `ready${dims ? `: ${dims} dimensions` : ''}; type a message to embed it`
}

export function renderEmbeddingStats(stats: MemoryStats): void {
  const { entries, bytes: stored, hits, misses } = stats.embeddings.cache
  byId('embed-cache').textContent =
    `cache: ${entries} vectors, ${bytes(stored)}, hit rate ${percent(hits + misses === 0 ? 0 : hits / (hits + misses))} (${hits} hits, ${misses} misses)` +
    ` · recall index: ${stats.embeddings.index.vectors} messages, ${bytes(stats.embeddings.index.bytes)} in memory`
}

/** Embeds what is typed and shows the vector and whether the cache had it. */
export async function showEmbedding(mem: RemoteMemory, text: string): Promise<void> {
  const before = (await mem.stats()).embeddings.cache
  const started = performance.now()
  const [vector] = await mem.embed([text])
  const ms = performance.now() - started
  const after = (await mem.stats()).embeddings.cache
  const hit = after.hits > before.hits
  const head = [...vector!.slice(0, 6)].map((x) => x.toFixed(3)).join(', ')
  byId('embed-last').textContent =
    `“${text.length > 60 ? `${text.slice(0, 60)}…` : text}” → ${vector!.length} dims [${head}, …] in ${ms.toFixed(1)} ms (${hit ? 'cache hit' : 'computed, now cached'})`
  byId('embed-last').dataset.hit = String(hit)
}

/**
 * The stored messages most like what is typed, from every tier (recall by text: the text is
 * embedded through the cache, the messages' vectors were stored with them).
 */
export async function showSimilar(mem: RemoteMemory, text: string): Promise<void> {
  const list = byId('similar')
  const started = performance.now()
  const hits = await mem.recall(text, { k: 5, type: 'message' })
  const ms = performance.now() - started
  // peek: showing a memory is not using it (no access counted, no promotion).
  const values = await Promise.all(hits.map((hit) => mem.peek<{ text?: string }>(hit.key)))
  list.replaceChildren(
    ...hits.map((hit, i) => {
      const item = document.createElement('li')
      const score = document.createElement('span')
      score.className = 'score'
      score.textContent = hit.score.toFixed(3)
      const tier = document.createElement('span')
      tier.className = `badge tier-${hit.entry.tier}`
      tier.textContent = hit.entry.tier
      item.append(score, ` ${values[i]?.text ?? hit.key} `, tier)
      return item
    }),
  )
  byId('similar-status').textContent =
    hits.length === 0 ? 'no stored message has a vector yet' : `${hits.length} of the stored messages, best first, in ${ms.toFixed(1)} ms`
}

/// <reference types="vite/client" />
// A dedicated worker that builds the transformers.js embedder on the tiny test model, as the
// engine's worker will: the model files and the onnxruntime-web runtime come from this origin.
import ortMjs from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url'
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url'
import { createEmbedder } from '../../src/embeddings/index.ts'

const scope = globalThis as unknown as { onmessage: ((event: MessageEvent) => void) | null; postMessage(message: unknown): void }

scope.onmessage = async (event: MessageEvent<{ texts: string[]; model: string }>) => {
  try {
    // transformers.js keeps model files in Cache Storage: start empty, so the model is fetched.
    await caches.delete('transformers-cache')
    const progress: Array<{ file: string; loaded: number; total: number }> = []
    const embedder = await createEmbedder({
      model: event.data.model,
      dtype: 'q8',
      device: 'auto',
      localModelPath: '/test/fixtures/models/',
      allowRemoteModels: false,
      wasmPaths: { mjs: ortMjs, wasm: ortWasm },
      onProgress: (p) => progress.push(p),
    })
    const vectors = await embedder.embed(event.data.texts)
    // Every fetch this worker made (model files, runtime): the test checks none left the origin.
    const requests = performance.getEntriesByType('resource').map((entry) => entry.name)
    scope.postMessage({ id: embedder.id, dims: embedder.dims, vectors: vectors.map((v) => [...v]), progress, requests })
  } catch (error) {
    scope.postMessage({ error: `${(error as { code?: string }).code ?? ''} ${(error as Error).message}` })
  }
}

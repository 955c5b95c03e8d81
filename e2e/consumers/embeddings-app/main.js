// A user's Vite page with embeddings: tiermem and @huggingface/transformers from npm, the model
// (the tests' tiny one) and the onnxruntime-web runtime served by the app itself.
import ortMjs from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url'
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url'
import { openMemory } from 'tiermem'
import { embeddingWorker } from 'tiermem/embeddings'

try {
  const mem = await openMemory({
    name: 'embeddings',
    worker: embeddingWorker(),
    embeddings: {
      model: { model: 'tiermem/tiny-bert', dtype: 'q8', localModelPath: '/models/', allowRemoteModels: false, wasmPaths: { mjs: ortMjs, wasm: ortWasm } },
    },
  })
  const [vector] = await mem.embed(['book a table for two'])
  await mem.put('fact', { text: 'book a table for two' }, { embed: true })
  const { cache } = (await mem.stats()).embeddings
  document.body.dataset.result = JSON.stringify({ dims: vector.length, norm: Math.hypot(...vector), cache })
} catch (error) {
  document.body.dataset.result = JSON.stringify({ error: `${error.code}: ${error.message}` })
}

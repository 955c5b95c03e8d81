// tiermem's worker with an embedder: the engine over IndexedDB and OPFS, plus transformers.js to
// load the model `openMemory({ embeddings: { model } })` names, next to the engine (the model never
// runs on the page's thread). Started by embeddingWorker() from tiermem/embeddings, so only apps
// that use embeddings bundle transformers.js.
import { createEmbedder } from '../src/embeddings/create-embedder.ts'
import { openBrowserStores } from '../src/hosts/browser-stores.ts'
import { exposeMemoryHost } from '../src/hosts/memory-host.ts'
import { storageEstimateSignal } from '../src/hosts/storage-signal.ts'

exposeMemoryHost(globalThis as unknown as Parameters<typeof exposeMemoryHost>[0], openBrowserStores, [storageEstimateSignal()], (model, onProgress) =>
  createEmbedder({ ...model, ...(onProgress ? { onProgress } : {}) }),
)

/// <reference types="vite/client" />
// The embedding cache measured where it runs in the browser: in a dedicated worker, over the
// real stores (IndexedDB warm, OPFS cold), with transformers.js on the tiny test model (served
// by the bench page under /models/). Every figure is a median of interleaved rounds.
import ortMjs from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url'
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url'
import { createMemory, type Memory } from '../../src/core/index.ts'
import { createEmbedder } from '../../src/embeddings/index.ts'
import { openBrowserStores } from '../../src/hosts/browser-stores.ts'
import { TINY_MODEL } from '../../test/fixtures/tiny-model-spec.ts'

export interface EmbeddingBench {
  /** µs per single-text call, medians over rounds. */
  bareUs: number
  missUs: number
  hitUs: number
  /** Median of per-round ratios (each measure against the bare embedder in the same round). */
  hitSpeedup: number
  missOverhead: number
  /** Storage used per cached vector (navigator.storage.estimate() delta over 10,000 vectors). */
  bytesPerVector: number
  bytesPerVectorQuantized: number
  dims: number
}

const scope = globalThis as unknown as { onmessage: ((event: MessageEvent) => void) | null; postMessage(message: unknown): void }
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
let seq = 0
const text = (i: number) => `note ${i} the user likes food and a trip to lisbon ${seq}`

async function timePerCall(calls: number, call: (i: number) => Promise<unknown>): Promise<number> {
  const started = performance.now()
  for (let i = 0; i < calls; i++) await call(i)
  return ((performance.now() - started) / calls) * 1000
}

async function usage(): Promise<number> {
  return (await navigator.storage.estimate()).usage ?? 0
}

/** Storage per vector: 10,000 texts embedded into a fresh memory, committed, closed; the estimate's growth / 10,000. */
async function bytesPerVector(embedder: Awaited<ReturnType<typeof createEmbedder>>, quantize: boolean): Promise<number> {
  const n = 10_000
  const name = `bench-embeddings-size-${quantize}-${Date.now()}`
  const before = await usage()
  const mem = await createMemory({
    stores: await openBrowserStores(name),
    maintenanceIntervalMs: 0,
    embeddings: { embedder, cache: { maxEntries: 2 * n, maxBytes: 2 ** 30, quantize } },
  })
  for (let i = 0; i < n; i += 500) await mem.embed(Array.from({ length: 500 }, (_, j) => `size ${quantize} ${i + j}`))
  await mem.flush()
  const entries = (await mem.stats()).embeddings.cache.entries
  await mem.close()
  if (entries !== n) throw new Error(`expected ${n} cached vectors, found ${entries}`)
  return ((await usage()) - before) / n
}

scope.onmessage = async (event: MessageEvent<{ rounds: number; calls: number; model?: string }>) => {
  try {
    const { rounds, calls } = event.data
    const embedder = await createEmbedder({
      model: event.data.model ?? TINY_MODEL,
      dtype: 'q8',
      device: 'wasm',
      localModelPath: '/models/',
      allowRemoteModels: false,
      wasmPaths: { mjs: ortMjs, wasm: ortWasm },
    })
    const mem: Memory = await createMemory({
      stores: await openBrowserStores(`bench-embeddings-${Date.now()}`),
      maintenanceIntervalMs: 0,
      embeddings: { embedder, cache: { maxEntries: 100_000, maxBytes: 2 ** 30 } },
    })
    // Warm up the model, the codec and the stores; the texts read as hits are cached here.
    const seen = Array.from({ length: calls }, (_, i) => `seen ${i} what does the user eat`)
    await mem.embed(seen)
    await timePerCall(calls, (i) => embedder.embed([text(i)]))
    const bare: number[] = []
    const miss: number[] = []
    const hit: number[] = []
    for (let r = 0; r < rounds; r++) {
      seq++
      bare.push(await timePerCall(calls, (i) => embedder.embed([`bare ${text(i)}`])))
      miss.push(await timePerCall(calls, (i) => mem.embed([`miss ${text(i)}`])))
      // Hits are ~50× shorter than a computation: five passes over the seen texts, so a round is long enough to time.
      hit.push(await timePerCall(calls * 5, (i) => mem.embed([seen[i % calls]!])))
    }
    await mem.close()
    const result: EmbeddingBench = {
      bareUs: median(bare),
      missUs: median(miss),
      hitUs: median(hit),
      hitSpeedup: median(bare.map((b, r) => b / hit[r]!)),
      missOverhead: median(miss.map((m, r) => m / bare[r]!)),
      bytesPerVector: await bytesPerVector(embedder, false),
      bytesPerVectorQuantized: await bytesPerVector(embedder, true),
      dims: embedder.dims,
    }
    scope.postMessage({ result })
  } catch (error) {
    scope.postMessage({ error: `${(error as Error).message}\n${(error as Error).stack}` })
  }
}

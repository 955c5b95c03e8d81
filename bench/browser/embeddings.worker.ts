/// <reference types="vite/client" />
// The embedding cache measured where it runs in the browser: in a dedicated worker, over the
// real stores (IndexedDB warm, OPFS cold), with transformers.js on the tiny test model (served
// by the bench page under /models/). Every figure is a median of interleaved rounds.
import ortMjs from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url'
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url'
import { createMemory, type Memory } from '../../src/core/index.ts'
import { createEmbedder } from '../../src/embeddings/index.ts'
import { openBrowserStores, storageNames } from '../../src/hosts/browser-stores.ts'
import { TINY_MODEL } from '../../test/fixtures/tiny-model-spec.ts'

export interface EmbeddingBench {
  /** µs per single-text call, medians over rounds. */
  bareUs: number
  missUs: number
  hitUs: number
  /** Median of per-round ratios (each measure against the bare embedder in the same round). */
  hitSpeedup: number
  missOverhead: number
  dims: number
}

/** What 10,000 cached vectors cost in the durable tiers, measured in an origin of their own (see bytesPerVector). */
export interface EmbeddingSize {
  /**
   * What they add to the origin's storage (navigator.storage.estimate() growth), per vector: the
   * bytes on disk, after IndexedDB's own compression, including any log it has not compacted yet.
   */
  estimated: number
  /** The records the memory keeps, read back after close (IndexedDB keys as UTF-16, values, OPFS files), per vector: before IndexedDB's compression. */
  stored: number
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

/**
 * The origin's usage once it stops moving: the sections before this one delete databases and
 * files, and IndexedDB compacts them in the background, so a single reading taken meanwhile can
 * be off by more than the 10,000 vectors measured (one loaded run read −2,327 B a vector).
 * Read until two readings 300 ms apart agree, for at most 6 s.
 */
async function settledUsage(): Promise<number> {
  let last = await usage()
  for (let tries = 0; tries < 20; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 300))
    const now = await usage()
    if (now === last) return now
    last = now
  }
  return last
}

/** Every key and value byte in one IndexedDB database (keys counted as UTF-16, as Chromium encodes them). */
async function databaseBytes(database: string): Promise<number> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(database)
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })
  let total = 0
  for (const space of Array.from(db.objectStoreNames)) {
    const store = db.transaction(space, 'readonly').objectStore(space)
    const [keys, values] = await Promise.all(
      [store.getAllKeys(), store.getAll()].map(
        (request) =>
          new Promise<unknown[]>((resolve, reject) => {
            request.onsuccess = () => resolve(request.result as unknown[])
            request.onerror = () => reject(request.error)
          }),
      ),
    )
    for (const key of keys ?? []) total += String(key).length * 2
    for (const value of values ?? []) total += (value as Uint8Array).byteLength
  }
  db.close()
  return total
}

/** Every file's size under one OPFS directory (0 when the memory has none). */
async function directoryBytes(directory: string): Promise<number> {
  const root = await navigator.storage.getDirectory()
  let dir: FileSystemDirectoryHandle
  try {
    dir = await root.getDirectoryHandle(directory)
  } catch {
    return 0
  }
  let total = 0
  for await (const handle of (dir as unknown as { values(): AsyncIterable<FileSystemHandle> }).values())
    if (handle.kind === 'file') total += (await (handle as FileSystemFileHandle).getFile()).size
  return total
}

/**
 * Storage per vector: 10,000 texts embedded into a fresh memory, committed, closed; measured both
 * ways. The runner calls this in a page of an origin that holds nothing else (a server of its
 * own): IndexedDB keeps one LevelDB per origin, and in the bench's origin the other sections'
 * deleted databases were compacted away while these vectors were written, so the growth read
 * −2,300 to +4,250 bytes a vector from one run to the next.
 */
async function bytesPerVector(embedder: Embedder, quantize: boolean): Promise<EmbeddingSize> {
  const n = 10_000
  const name = `bench-embeddings-size-${quantize}-${Date.now()}`
  const before = await settledUsage()
  const mem = await createMemory({
    stores: await openBrowserStores(name),
    maintenanceIntervalMs: 0,
    embeddings: { embedder, cache: { maxEntries: 2 * n, maxBytes: 2 ** 30, quantize } },
  })
  const empty = (await mem.stats()).embeddings.cache.entries
  for (let i = 0; i < n; i += 500) await mem.embed(Array.from({ length: 500 }, (_, j) => `size ${quantize} ${i + j}`))
  await mem.flush()
  const entries = (await mem.stats()).embeddings.cache.entries
  await mem.close()
  if (entries - empty !== n) throw new Error(`expected ${n} cached vectors, found ${entries - empty}`)
  const names = storageNames(name)
  const stored = (await databaseBytes(names.warm)) + (await directoryBytes(names.coldDirectory))
  return { stored: stored / n, estimated: ((await settledUsage()) - before) / n, dims: embedder.dims }
}

const testEmbedder = (model: string | undefined) =>
  createEmbedder({
    model: model ?? TINY_MODEL,
    dtype: 'q8',
    device: 'wasm',
    localModelPath: '/models/',
    allowRemoteModels: false,
    wasmPaths: { mjs: ortMjs, wasm: ortWasm },
  })
type Embedder = Awaited<ReturnType<typeof testEmbedder>>

scope.onmessage = async (event: MessageEvent<{ rounds: number; calls: number; model?: string } | { size: { quantize: boolean }; model?: string }>) => {
  try {
    const embedder = await testEmbedder(event.data.model)
    if ('size' in event.data) {
      // The model loaded and run once before the first reading: whatever that caches is not the vectors'.
      await embedder.embed(['warm up'])
      scope.postMessage({ size: await bytesPerVector(embedder, event.data.size.quantize) })
      return
    }
    const { rounds, calls } = event.data
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
      dims: embedder.dims,
    }
    scope.postMessage({ result })
  } catch (error) {
    scope.postMessage({ error: `${(error as Error).message}\n${(error as Error).stack}` })
  }
}

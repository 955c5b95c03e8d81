// One vector-search library per worker, on the same vectors (a SharedArrayBuffer the page
// fills): build, then answer every query, timing each. The page measures each worker's memory
// between the two and scores the answers against the exact scan's.
import { create, insertMultiple, search as oramaSearch } from '@orama/orama'
import { loadHnswlib } from 'hnswlib-wasm'
import { HNSW } from 'mememo'
import * as voyGlue from 'voy-search/voy_search_bg.js'
import voyWasmUrl from 'voy-search/voy_search_bg.wasm?url'
import { createMemory, type Memory } from '../../src/core/index.ts'
import { openBrowserStores } from '../../src/hosts/browser-stores.ts'
import { HnswGraph } from '../../src/core/recall/hnsw-graph.ts'
import { EF_CONSTRUCTION, EF_SEARCH, EF_SWEEP, M } from './hnsw-settings.ts'

export type Library = 'exact' | 'tiermem' | 'tiermem-paged' | 'tiermem-resident' | 'hnswlib-wasm' | 'mememo' | 'orama' | 'voy'

export interface RecallJob {
  library: Library
  vectors: SharedArrayBuffer
  queries: SharedArrayBuffer
  /** Queries of their own, run first and timed apart: the first queries after a build or an open. */
  warmups: SharedArrayBuffer
  n: number
  dims: number
  k: number
  /** The bytes of Float32 vectors tiermem may keep in memory beside its graph (its hot budget is set from both, after the build). */
  vectorBytes: number
  /** tiermem: the hot budget a build in another worker settled on. */
  hotBytes?: number
  /** tiermem: the memory a build in another worker saved, to open here (as a page does after a reload). */
  memoryName?: string
}

export type RecallMessage =
  | { phase: 'ready' }
  | { phase: 'built'; buildMs: number; openMs?: number; residentBytes?: number; note?: string; memoryName?: string; hotBytes?: number }
  | { phase: 'opened'; openMs: number; residentBytes: number; note: string }
  | { phase: 'done'; answers: number[][]; timesMs: number[]; warmupMs: number[]; graphMs?: number; sweep: SweepPass[] }
  | { phase: 'error'; error: string }

/** The same queries again at another efSearch: one point of a library's recall / latency curve. */
export interface SweepPass {
  efSearch: number
  answers: number[][]
  timesMs: number[]
}

interface Runner {
  /** Builds the index; some runners report the bytes they hold themselves (wasm memory, tiermem's stats). */
  build(): Promise<{ openMs?: number; residentBytes?: number; note?: string; hotBytes?: number }>
  query(q: Float32Array): Promise<number[]>
  /** Where a library takes an efSearch: the one the next queries use (EF_SEARCH until set). */
  setEfSearch?(ef: number): void
}

const scope = globalThis as unknown as { onmessage: ((event: MessageEvent) => void) | null; postMessage(message: RecallMessage): void }
let runner: Runner | undefined
let job: RecallJob | undefined

function vectorAt(data: Float32Array, dims: number, i: number): Float32Array {
  return data.subarray(i * dims, (i + 1) * dims)
}

/** tiermem's runner: its memory is saved, so it can be closed in one worker and opened in another. */
type TiermemRunner = Runner & {
  close(): Promise<string>
  reopen(): Promise<{ openMs: number; residentBytes: number; note: string }>
  resident(): Promise<{ residentBytes: number }>
  graphAlone(): Promise<number>
}

function makeRunner(j: RecallJob): Runner {
  const data = new Float32Array(j.vectors)
  const { n, dims, k } = j
  const at = (i: number) => vectorAt(data, dims, i)
  switch (j.library) {
    case 'exact': {
      // The exact scan over unit vectors in one Float32Array: the ground truth, and the floor every index must beat.
      const unit = new Float32Array(n * dims)
      return {
        async build() {
          for (let i = 0; i < n; i++) {
            const v = at(i)
            let norm = 0
            for (let d = 0; d < dims; d++) norm += v[d]! * v[d]!
            norm = Math.sqrt(norm) || 1
            for (let d = 0; d < dims; d++) unit[i * dims + d] = v[d]! / norm
          }
          return { residentBytes: unit.byteLength }
        },
        async query(q) {
          const best: Array<{ i: number; s: number }> = []
          for (let i = 0; i < n; i++) {
            let s = 0
            const base = i * dims
            for (let d = 0; d < dims; d++) s += q[d]! * unit[base + d]!
            if (best.length < k || s > best[best.length - 1]!.s) {
              best.push({ i, s })
              best.sort((a, b) => b.s - a.s)
              if (best.length > k) best.pop()
            }
          }
          return best.map((b) => b.i)
        },
      }
    }
    case 'tiermem':
    case 'tiermem-paged':
    case 'tiermem-resident': {
      let mem: Memory
      let efSearch = EF_SEARCH
      const name = j.memoryName ?? `bench-recall-${Date.now()}`
      // Resident: a hot budget that holds every vector, and no reopen (which would leave them warm until read).
      const resident = j.library === 'tiermem-resident'
      // Budgeted: built with room; then a hot budget whose working size (65 %, the default
      // policy's) holds the graph and a tenth of the Float32 vectors. The graph counts in the hot
      // budget and pressure pages its codes once it alone is over the working size: a budget of a
      // tenth of the vectors alone would page a 100k graph's codes out to their floor.
      let hotBytes = resident ? 2 ** 31 : (j.hotBytes ?? 2 ** 31)
      const open = async () =>
        createMemory({
          stores: await openBrowserStores(name),
          maintenanceIntervalMs: 0,
          hot: { maxBytes: hotBytes },
          // Paged: a tenth of the graph's int8 codes in memory too, the rest read back from the vectors' copies.
          ...(j.library === 'tiermem-paged' ? { embeddings: { index: { maxResidentBytes: Math.round(0.1 * n * dims) } } } : {}),
          policy: { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' } } },
        })
      return {
        async build() {
          mem = await open()
          for (let i = 0; i < n; i += 1_000) {
            await mem.putMany(Array.from({ length: Math.min(1_000, n - i) }, (_, j) => ({ key: String(i + j), value: i + j, vector: at(i + j) })))
          }
          // The first recall puts every committed vector in the graph: part of the build.
          await mem.recall(at(0), { k: 1 })
          if (resident) return {}
          hotBytes = Math.ceil(((await mem.stats()).embeddings.index.bytes + j.vectorBytes) / 0.65)
          await mem.configure({ hot: { maxBytes: hotBytes } })
          return { hotBytes }
        },
        async query(q) {
          return (await mem.recall(q, { k, efSearch })).map((h) => Number(h.key))
        },
        setEfSearch(ef) {
          efSearch = ef
        },
        async resident() {
          const stats = await mem.stats()
          return { residentBytes: stats.embeddings.index.bytes + stats.tiers.hot.bytes }
        },
        // The graph alone, built over the same vectors with the engine's defaults: the index's own
        // insert rate. After the queries: built before them, its ~60 MB became garbage that the
        // queries' worker then collected while they were timed.
        async graphAlone() {
          const started = performance.now()
          const graph = new HnswGraph(dims)
          for (let i = 0; i < n; i++) await graph.insert(at(i))
          return performance.now() - started
        },
        async close() {
          await mem.close()
          return name
        },
        // Opened in a fresh worker before the queries (below), as after a reload: the saved graph
        // loads, the vectors are read from the stores, and no garbage of the build is left to collect.
        async reopen() {
          const started = performance.now()
          mem = await open()
          const openMs = performance.now() - started
          const stats = await mem.stats()
          return {
            openMs,
            residentBytes: stats.embeddings.index.bytes + stats.tiers.hot.bytes,
            note: `graph ${(stats.embeddings.index.bytes / 2 ** 20).toFixed(1)} MiB, codes of ${stats.embeddings.index.residentVectors} of ${stats.embeddings.index.vectors} vectors in memory; hot tier ${(stats.tiers.hot.bytes / 2 ** 20).toFixed(1)} MiB (budget ${(hotBytes / 2 ** 20).toFixed(1)} MiB)`,
          }
        },
      } as TiermemRunner
    }
    case 'hnswlib-wasm': {
      let index: InstanceType<Awaited<ReturnType<typeof loadHnswlib>>['HierarchicalNSW']>
      let heap: () => number
      return {
        async build() {
          const lib = await loadHnswlib()
          heap = () => (lib as unknown as { HEAP8: Int8Array }).HEAP8.byteLength
          index = new lib.HierarchicalNSW('cosine', dims, '')
          index.initIndex(n, M, EF_CONSTRUCTION, 1)
          for (let i = 0; i < n; i += 1_000) {
            const count = Math.min(1_000, n - i)
            index.addPoints(
              Array.from({ length: count }, (_, j) => at(i + j)),
              Array.from({ length: count }, (_, j) => i + j),
              false,
            )
          }
          index.setEfSearch(EF_SEARCH)
          return { residentBytes: heap() }
        },
        async query(q) {
          return index.searchKnn(q, k, undefined).neighbors
        },
        setEfSearch(ef) {
          index.setEfSearch(ef)
        },
      }
    }
    case 'mememo': {
      let index: HNSW
      return {
        async build() {
          index = new HNSW({ distanceFunction: 'cosine', m: M, efConstruction: EF_CONSTRUCTION, seed: 1, useIndexedDB: false })
          for (let i = 0; i < n; i += 1_000) {
            const count = Math.min(1_000, n - i)
            await index.bulkInsert(
              Array.from({ length: count }, (_, j) => String(i + j)),
              Array.from({ length: count }, (_, j) => Array.from(at(i + j))),
            )
          }
          return {}
        },
        async query(q) {
          return (await index.query(Array.from(q), k, EF_SEARCH)).keys.map(Number)
        },
      }
    }
    case 'orama': {
      const db = create({ schema: { id: 'string', embedding: `vector[${dims}]` } as const })
      return {
        async build() {
          for (let i = 0; i < n; i += 1_000) {
            await insertMultiple(
              db,
              Array.from({ length: Math.min(1_000, n - i) }, (_, j) => ({ id: String(i + j), embedding: Array.from(at(i + j)) })),
            )
          }
          return {}
        },
        async query(q) {
          const result = await oramaSearch(db, { mode: 'vector', vector: { value: Array.from(q), property: 'embedding' }, similarity: -1, limit: k })
          return result.hits.map((hit) => Number(hit.document.id))
        },
      }
    }
    case 'voy': {
      let index: voyGlue.Voy
      let memory: WebAssembly.Memory
      return {
        async build() {
          const { instance } = await WebAssembly.instantiateStreaming(fetch(voyWasmUrl), {
            './voy_search_bg.js': voyGlue as unknown as WebAssembly.ModuleImports,
          })
          voyGlue.__wbg_set_wasm(instance.exports)
          memory = instance.exports.memory as WebAssembly.Memory
          const embeddings = Array.from({ length: n }, (_, i) => ({ id: String(i), title: '', url: '', embeddings: Array.from(at(i)) }))
          index = new voyGlue.Voy({ embeddings })
          return { residentBytes: memory.buffer.byteLength }
        },
        async query(q) {
          return index.search(q, k).neighbors.map((neighbour) => Number(neighbour.id))
        },
      }
    }
  }
}

scope.onmessage = async (event: MessageEvent<{ run: 'ping' } | { run: 'build' | 'open'; job: RecallJob } | { run: 'query' }>) => {
  try {
    if (event.data.run === 'ping') {
      scope.postMessage({ phase: 'ready' })
      return
    }
    if (event.data.run === 'open') {
      job = event.data.job
      runner = makeRunner(job)
      scope.postMessage({ phase: 'opened', ...(await (runner as TiermemRunner).reopen()) })
      return
    }
    if (event.data.run === 'build') {
      job = event.data.job
      runner = makeRunner(job)
      const started = performance.now()
      const built = await runner.build()
      const buildMs = performance.now() - started
      const reopened =
        job.library === 'tiermem' || job.library === 'tiermem-paged'
          ? { memoryName: await (runner as TiermemRunner).close() }
          : job.library === 'tiermem-resident'
            ? await (runner as TiermemRunner).resident()
            : {}
      scope.postMessage({ phase: 'built', buildMs, ...built, ...reopened })
      return
    }
    const queries = new Float32Array(job!.queries)
    const count = queries.length / job!.dims
    // Warm-up queries first, on vectors of their own: code paths compiled, caches as a running app
    // has them. Timed apart: what a page's first queries after a build or an open take.
    const warmups = new Float32Array(job!.warmups)
    const warmupMs: number[] = []
    for (let i = 0; i < warmups.length / job!.dims; i++) {
      const started = performance.now()
      await runner!.query(vectorAt(warmups, job!.dims, i))
      warmupMs.push(performance.now() - started)
    }
    /** Every query once, each timed and (BENCH_TRACE) named beside the GC events of this thread. */
    const timedPass = async (label: string) => {
      const answers: number[][] = []
      const timesMs: number[] = []
      for (let i = 0; i < count; i++) {
        const started = performance.now()
        answers.push(await runner!.query(vectorAt(queries, job!.dims, i)))
        const ended = performance.now()
        timesMs.push(ended - started)
        performance.mark(`query ${label} ${i}`, { startTime: started, detail: ended - started })
      }
      return { answers, timesMs }
    }
    // BENCH_CPU=1: where the machine's CPU went while the queries ran (bench/cpu-sampler.ts).
    console.log(`cpu:start recall ${job!.library} ${job!.n}`)
    const { answers, timesMs } = await timedPass(job!.library)
    console.log(`cpu:end recall ${job!.library} ${job!.n}`)
    const sweep: SweepPass[] = []
    // The budgeted memory and hnswlib-wasm only: the paged graph reads codes back from OPFS at
    // each step (its sweep would take minutes), and the resident one is judged at the default.
    if (runner!.setEfSearch && (job!.library === 'tiermem' || job!.library === 'hnswlib-wasm')) {
      for (const efSearch of EF_SWEEP) {
        runner!.setEfSearch(efSearch)
        sweep.push({ efSearch, ...(await timedPass(`${job!.library} efSearch ${efSearch}`)) })
      }
      runner!.setEfSearch(EF_SEARCH)
    }
    const graphAlone = (runner as { graphAlone?: () => Promise<number> }).graphAlone
    scope.postMessage({ phase: 'done', answers, timesMs, warmupMs, sweep, ...(graphAlone ? { graphMs: await graphAlone() } : {}) })
  } catch (error) {
    scope.postMessage({ phase: 'error', error: `${(error as Error).message}\n${(error as Error).stack}` })
  }
}

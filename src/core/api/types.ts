/** Public types of the Memory contract (see API.md). */
import type { Deflater } from '../store/deflater.ts'
import type { Inflater } from '../store/inflater.ts'
import type { RecordFiles } from '../store/record-file.ts'
import type { Store } from '../store/store.ts'

export type Tier = 'hot' | 'warm' | 'cold'
export const TIERS: readonly Tier[] = ['hot', 'warm', 'cold']

export type EvictionPolicy = 'lru_with_importance' | 'importance_based' | 'manual'
export type PressureLevel = 'normal' | 'warning' | 'critical' | 'emergency'

export interface Clock {
  /** Milliseconds since the epoch (or any monotonic origin the caller keeps consistent). */
  now(): number
}

/**
 * Turns texts into vectors. Any object of this shape is an embedder: tiermem ships one over
 * transformers.js (`createEmbedder` in `tiermem/embeddings`), or bring your own (an API).
 */
export interface Embedder {
  /** Model id, weights and pooling, e.g. 'Xenova/all-MiniLM-L6-v2@q8:mean'. Vectors of different ids never mix. */
  readonly id: string
  /** The length of every vector it returns. */
  readonly dims: number
  /** One unit-length vector per text, in the same order. */
  embed(texts: string[]): Promise<Float32Array[]>
}

/** The embedding cache's figures. `hits` and `misses` count texts, not calls. */
export interface EmbeddingCacheStats {
  entries: number
  bytes: number
  hits: number
  misses: number
}

/** The vector index recall searches: its figures in `stats().embeddings.index`. */
export interface VectorIndexStats {
  /** Entries' vectors recall covers (in the graph, or committed and about to be). */
  vectors: number
  /** Vectors in the graph in memory (as int8 codes; the Float32 vectors stay in the tiers). */
  residentVectors: number
  /** Bytes the graph holds in memory: codes, scales and links. */
  bytes: number
  /**
   * Vectors made by another embedder than this memory's, still to re-embed (in the background,
   * `reembedded` events): until 0, recall compares the query with some vectors of the old model.
   */
  stale: number
}

/** recall()'s options: how many, and which entries may be results (every filter applies during the search). */
export interface RecallOptions {
  /** How many results at most, best first. Default 10. */
  k?: number
  /** Only entries of this namespace; without it, every namespace (as query). */
  namespace?: string
  type?: string
  layer?: string
  tier?: Tier
  /** Only results whose cosine similarity to the query is at least this. */
  minScore?: number
  /**
   * Candidates the graph walk weighs for this recall (at least k + 10), in place of the index's
   * `efSearch` (default 100): fewer is faster and finds fewer of the exact best, more the reverse.
   */
  efSearch?: number
}

export interface DedupeResult {
  /** Groups of identical entries merged into one each. */
  groups: number
  /** Entries deleted as duplicates. */
  removed: number
  freedBytes: number
}

/** backup.auto: a full backup kept beside the memory every `intervalMs` when something changed. */
export interface AutoBackupOptions {
  /** ms between snapshots (≥ 1,000); an unchanged memory takes none. */
  intervalMs: number
  /** How many snapshots are kept, newest first (1..100). */
  keep: number
  /** Take one at close() too, if anything changed. Default true. */
  onClose?: boolean
}

export interface SnapshotInfo {
  id: string
  createdAt: number
  bytes: number
  /** The change number it was taken at. */
  seq: number
}

/** backup()'s options. */
export interface BackupOptions {
  /** Only the changes since this memory's last backup (its manifest's parentId names it). Default false. */
  incremental?: boolean
  /** Deflate level of the record files, 0..9. Default 1: values in cold are compressed already, and speed matters more. */
  level?: number
  /** Entries written so far of those the backup takes; `done` never goes down and ends at `total`. */
  onProgress?: (done: number, total: number) => void
}

/** A backup as restoreBackup reads it: the zip's bytes, a Blob or File, or a stream (read once, spooled). */
export type BackupSource = Uint8Array | ArrayBuffer | BlobLike | ReadableStream<Uint8Array>

/** What restoreBackup needs of a Blob or File (named by shape: the engine runs where there is no DOM). */
export interface BlobLike {
  readonly size: number
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> }
}

export interface RestoreOptions {
  /** Apply the chain's backups made at or before this time (ms since the epoch): a point in time. Default: all. */
  until?: number
  /** 'merge' (default): entries of the backup overwrite those with the same key, the rest stay. 'replace': the memory is cleared first. */
  mode?: 'merge' | 'replace'
  /** Records applied so far; `done` never goes down and ends at `total`. */
  onProgress?: (done: number, total: number) => void
}

export interface RestoreResult {
  /** Entries written (vectors included). */
  restored: number
  /** Entries deleted by incrementals (and, in replace mode, cleared first). */
  deleted: number
  /** Entries of the backup left out because they had expired by now. */
  expired: number
  /** The backups applied, in order. */
  backups: Array<{ id: string; kind: 'full' | 'incremental'; createdAt: number }>
}

/** One recall result: the entry, and its vector's cosine similarity to the query. */
export interface RecallHit {
  key: string
  namespace: string
  score: number
  entry: EntryInfo
}

/** The HNSW graph recall searches (seed 004's figures are the defaults). */
export interface VectorIndexOptions {
  /** Links per node and level (2m at level 0). Default 16; fixed once the index exists. */
  m?: number
  /** Candidates weighed when a vector is added. Default 200; fixed once the index exists. */
  efConstruction?: number
  /** Candidates weighed per search (at least k + 10). Default 100. */
  efSearch?: number
  /**
   * Bytes of the graph's int8 codes (one byte a dimension a vector) kept in memory; the others
   * are read again from the vectors' copies or entries when a search reaches them, least
   * recently used first out. Default: all in memory, until pressure pages the codes out (once
   * the graph alone is over the hot budget's working size). The links, scales and levels
   * (~0.15 KB a vector at m 16) always stay. Set, recall runs in issue order in the write lane.
   */
  maxResidentBytes?: number
}

/**
 * Which model `createEmbedder()` (tiermem/embeddings) loads, and from where: plain data, so it
 * can also cross to the worker that builds the embedder there (`openMemory({ embeddings: { model } })`).
 */
export interface EmbedderModelOptions {
  /** A model id on the Hugging Face hub, or a folder under `localModelPath`. Default 'Xenova/all-MiniLM-L6-v2'. */
  model?: string
  /** Weights to load: 'q8' (default, `onnx/model_quantized.onnx`), 'fp32', 'fp16', 'q4', … */
  dtype?: 'auto' | 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4' | 'bnb4' | 'q4f16'
  /** 'auto' (default): WebGPU where `navigator.gpu.requestAdapter()` gives an adapter, else 'wasm' in a browser and 'cpu' in Node. */
  device?: 'auto' | 'webgpu' | 'wasm' | 'cpu'
  /** Where local models live (transformers.js `env.localModelPath`): `<localModelPath>/<model>/…`. */
  localModelPath?: string
  /** Whether models may be fetched from the hub (transformers.js `env.allowRemoteModels`). Default true. */
  allowRemoteModels?: boolean
  /**
   * Where the onnxruntime-web runtime is served from in a browser: a folder URL ending in '/', or
   * the two files `{ mjs, wasm }` (`ort-wasm-simd-threaded.asyncify.*`). Without it transformers.js
   * fetches them from a CDN; docs/embeddings.md shows how to serve them with your app.
   */
  wasmPaths?: string | { mjs: string; wasm: string }
}

/** Model download progress: each file's bytes loaded of its total. */
export interface EmbedderProgress {
  file: string
  loaded: number
  total: number
}

/** `embeddings` of createMemory(): the embedder and its cache. */
export interface EmbeddingOptions {
  /** Turns text into vectors (createEmbedder from `tiermem/embeddings`, or your own). */
  embedder?: Embedder
  cache?: {
    /** Vectors kept, least recently used deleted first. Default 10,000. */
    maxEntries?: number
    /** Bytes of stored vectors kept. Default 64 MiB. */
    maxBytes?: number
    /** Store each vector as int8 with a scale (~0.4 KB at 384 dimensions) instead of Float32 (~1.5 KB). Default false. */
    quantize?: boolean
  }
  /** The vector index recall searches. */
  index?: VectorIndexOptions
}

export interface PutOptions {
  /** 'context' (default) | 'message' | 'fact' | 'evidence' | 'summary' | 'embedding' | any short string. */
  type?: string
  /** 0..1, default 0.5. Drives transfer, promotion, cleanup and eviction order. */
  importance?: number
  /** 0..1, how relevant the entry is to the agent's work; default: the importance. Part of the promotion score. */
  relevance?: number
  /** Time to live in ms from creation; default: the layer's TTL. */
  ttlMs?: number
  /** Initial placement; default chosen by policy (see LifecyclePolicy.typeTiers / maxHotEntryBytes). */
  tier?: Tier
  /** 'interact' (default) | 'insights' | 'assets' | a configured layer. */
  layer?: string
  /** Agent id, default 'default'. Keys are unique per namespace. */
  namespace?: string
  taskId?: string
  tags?: string[]
  /** Default true. false: never deleted by pressure, cleanup or scope close. */
  evictable?: boolean
  /** Default true. false: lives only in hot memory and is gone on close (scratch data, caches). */
  durable?: boolean
  /**
   * Embed the entry and store its vector with it: `true` embeds a string value or the value's
   * `text`; a string embeds that text. Needs an embedder (EMBEDDER_MISSING). The put commits
   * once the vector is computed, in issue order; a failed embed fails the put and stores nothing.
   */
  embed?: boolean | string
  /** A vector computed elsewhere, stored with the entry (no embedder needed); its length must be the embedder's dims. */
  vector?: Float32Array
  /**
   * Deduplicate at put time (seed 002): if another stored entry of the namespace holds the same
   * bytes, one entry remains — the more important (the stored one on a tie), with the other's
   * reads and tags — and the put resolves to it, so `info.key` may be the other's key. Costs a
   * pass over the namespace's entries per put.
   */
  dedupe?: boolean
}

export interface EntryInfo {
  key: string
  namespace: string
  type: string
  tier: Tier
  layer: string
  importance: number
  relevance: number
  createdAt: number
  lastAccessedAt: number
  accessCount: number
  /** Exact size of the encoded value in bytes (the same in every tier). */
  sizeBytes: number
  expiresAt?: number
  taskId?: string
  tags: string[]
  evictable: boolean
  durable: boolean
  refCount: number
  /** 16 hex digits: a 64-bit hash of the encoded value (not cryptographic). */
  contentHash: string
  /** Archived (mem.archive, or a rule in maintenance): kept in cold at this deflate level. Absent otherwise. */
  archived?: number
}

export interface QueryFilter {
  namespace?: string
  type?: string
  tier?: Tier
  layer?: string
  taskId?: string
  tag?: string
  limit?: number
}

export interface LayerPolicy {
  /** undefined = permanent. */
  ttlMs?: number
  /** Budget of the layer in bytes; puts over it evict by `eviction` (or fail for 'manual'). */
  maxBytes?: number
  /** Capacity in entries (seed 001's short-term memory). Soft when forceCleanup is off. */
  maxEntries?: number
  eviction: EvictionPolicy
  /** The next layer up, for promotion and transfer. */
  promoteTo?: string
  /** Criteria for promotion to `promoteTo`: score > minScore, accessCount > minAccesses, age > minAgeMs. */
  promotion?: { minScore: number; minAccesses: number; minAgeMs: number }
  /** Seed 001: at occupancy ≥ `occupancy` × maxEntries, entries with importance ≥ minImportance move up. */
  transfer?: { occupancy: number; minImportance: number }
  /** Seed 001: at ≥ 100 % occupancy with no transfer pending, delete down to keepRatio × maxEntries. */
  forceCleanup?: { enabled: boolean; keepRatio: number }
}

export interface ScoreWeights {
  relevance: number
  recency: number
  frequency: number
  importance: number
}

export interface LifecyclePolicy {
  /** 5 min: hot → warm after this long without access. */
  hotIdleMs: number
  /** 1 day: warm → cold after this long without access. */
  warmIdleMs: number
  /** 10: a non-hot entry is promoted to hot once accessCount > this. */
  promoteAfterAccesses: number
  /** 'interact' */
  defaultLayer: string
  layers: Record<string, LayerPolicy>
  /** Initial tier per entry type when `tier` is not given. Default { evidence: 'warm' }. */
  typeTiers: Record<string, Tier>
  /** Entries larger than this start warm rather than hot. Default 64 KiB. */
  maxHotEntryBytes: number
  /** Weights of the promotion score (seed 004); they are normalised to sum 1. */
  scoreWeights: ScoreWeights
  /** Half-life of the recency term in scores, ms. Default 1 day. */
  recencyHalfLifeMs: number
  /**
   * Seed 002's archive rules, applied in maintenance and by `archive()` highest priority first.
   * Default: old-unimportant (> 90 d, importance < 0.3, level 9, priority 8), unaccessed (idle >
   * 30 d, < 2 reads, level 7, priority 7), large-rarely-read (> 10 KiB, < 0.1 reads a day, level
   * 8, priority 6). Overriding replaces the list; [] switches archiving in maintenance off.
   */
  archiveRules: ArchiveRule[]
}

/** One archive rule: every condition in `when` must hold. */
export interface ArchiveRule {
  name: string
  /** Seed 002's kind of rule, for reports. */
  policy: 'time' | 'importance' | 'access' | 'size'
  when: {
    /** Created more than this long ago. */
    olderThanMs?: number
    importanceBelow?: number
    /** Not read for more than this long. */
    idleLongerThanMs?: number
    accessesBelow?: number
    largerThanBytes?: number
    /** Reads per day of its age (only entries at least a day old). */
    readsPerDayBelow?: number
  }
  /** Deflate level 1..9 the entry is kept at in cold. */
  level: number
  /** Higher first: an entry is archived by the first rule it meets. */
  priority: number
}

/** archive()'s filter: query fields, and the level those entries are kept at (default 9). */
export interface ArchiveFilter extends QueryFilter {
  level?: number
}

export interface ArchiveResult {
  archived: number
  /** The archived values' own bytes. */
  originalBytes: number
  /** What the cold store keeps of them (its share of compressed blocks); equal to originalBytes where it does not compress. */
  storedBytes: number
}

export interface PressurePolicy {
  thresholds: { warning: number; critical: number; emergency: number }
  /** A level is left only once the ratio is this far below its threshold. Default 0.05. */
  hysteresis: number
  /** How often the pressure monitor runs, ms. Default 5,000; 0 = only after writes and gc. */
  checkIntervalMs: number
  /** How long openScope waits for critical pressure to pass before SCOPE_PAUSED. Default 5,000 ms. */
  scopeWaitMs: number
  /** Default per-task byte quota for scopes that do not set one. Default Infinity. */
  taskQuotaBytes: number
}

/**
 * A pressure signal from outside the engine's own byte budgets: JS heap, storage quota, an
 * edge isolate's memory. Sampled by the pressure monitor every `pressure.checkIntervalMs`;
 * undefined means "not available now" and the signal is left out (never faked).
 */
export interface SignalSource {
  /** Shown in stats().pressure.signals, e.g. 'storage' or 'heap'. */
  source: string
  /** memory is relieved by demotion; storage by gc, compression and (at emergency) eviction. */
  resource: 'memory' | 'storage'
  sample(): Promise<{ used: number; limit: number } | undefined> | { used: number; limit: number } | undefined
}

export interface MemoryOptions {
  name?: string
  /** Extra pressure signals sampled by the monitor (the browser worker adds storage quota). */
  signals?: SignalSource[]
  /** Record latency histograms and counters. Default true; false saves the sampling on reads. */
  metrics?: boolean
  /**
   * Where the memory keeps its data. `records`: fixed-width record files the vector index keeps
   * Float32 copies of vectors in, for re-ranking (the browser worker passes OPFS ones; without
   * them, re-ranking reads the vectors' entries). `deflate` / `inflate`: where a backup's record
   * files are deflated and a restore's inflated, off the engine's thread (the browser worker lends
   * its compression workers); without them, on the engine's thread.
   */
  stores?: { warm?: Store; cold?: Store; records?: RecordFiles; deflate?: Deflater; inflate?: Inflater }
  /** Automatic snapshots kept beside the memory (docs/backup-format.md). */
  backup?: { auto?: AutoBackupOptions }
  /**
   * Tells an evicted memory from a new one: a place outside the memory's storage that remembers
   * the stores' incarnation. At open, stores that are new while the witness remembers others
   * raise a critical `storage-evicted` alert and fill `stats().storage.evicted`.
   */
  witness?: StorageWitness
  clock?: Clock
  /** Hot budget; default 64 MiB. */
  hot?: { maxBytes?: number }
  /** Warm budget; default 1 GiB. */
  warm?: { maxBytes?: number }
  /** Cold budget; default 4 GiB. */
  cold?: { maxBytes?: number }
  policy?: PolicyOverrides
  pressure?: Partial<PressurePolicy>
  /** Background gc / lifecycle loop, ms. Default 60,000; 0 = off. */
  maintenanceIntervalMs?: number
  /** An embedder and its persistent cache: `embed()` then turns texts into vectors, each text computed once. */
  embeddings?: EmbeddingOptions
  /**
   * When background work runs (maintenance, pressure checks, a scope's wait under pressure).
   * Default: the platform's setTimeout / clearTimeout. A Durable Object passes one driven by
   * alarms; tests pass fake time. close() cancels every timer the engine set.
   */
  scheduler?: Scheduler
}

/** See MemoryOptions.scheduler. */
export interface Scheduler {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export interface PolicyOverrides extends Partial<Omit<LifecyclePolicy, 'layers' | 'scoreWeights'>> {
  layers?: Record<string, Partial<LayerPolicy>>
  scoreWeights?: Partial<ScoreWeights>
}

/** What `configure()` may change at run time. */
export interface RuntimeOptions {
  /** Switch latency sampling on or off. */
  metrics?: boolean
  hot?: { maxBytes?: number }
  warm?: { maxBytes?: number }
  cold?: { maxBytes?: number }
  policy?: PolicyOverrides
  pressure?: Partial<PressurePolicy>
}

export interface GcStats {
  expired: number
  orphaned: number
  demoted: number
  promoted: number
  pressureEvicted: number
  freedBytes: number
  /** Warm pages rewritten because most of their bytes were dead. */
  compactedPages: number
  durationMs: number
}

export interface PressureSignal {
  source: string
  used: number
  limit: number
  ratio: number
}

export interface PressureReport {
  level: PressureLevel
  /** The highest of the signals' ratios. */
  ratio: number
  signals: PressureSignal[]
}

export interface LatencySummary {
  p50: number
  p95: number
  p99: number
  max: number
  count: number
}

export interface Recommendation {
  type: string
  tier?: Tier
  message: string
  priority: 'low' | 'medium' | 'high'
}

export interface MemoryRates {
  /** Per second, over the time since the previous pressure check (or since open). */
  gets: number
  puts: number
  promotions: number
  demotions: number
  evictions: number
  errors: number
}

export interface MemoryStats {
  tiers: Record<Tier, { count: number; bytes: number }>
  /** Operations per second, and totals since open (errors: failures reported as alerts or thrown as CORRUPT; fallbacks: signal sources that failed). */
  rates: MemoryRates
  totals: MemoryRates & { fallbacks: number }
  layers: Record<string, { count: number; bytes: number }>
  pressure: PressureReport
  hitRate: Record<Tier, number>
  latency: Record<Tier, LatencySummary>
  health: { score: number; recommendations: Recommendation[] }
  /**
   * The warm store's pages (small values of one batch share a record): how many, their bytes, and
   * the part no entry names any more (deleted with the page's last entry, or rewritten by gc once a page is mostly dead).
   */
  warm: { backend: string; pages: number; bytes: number; deadBytes: number }
  /** The cold store as it measures itself: bytes on storage and bytes of the records it holds. */
  cold: { backend: string; compressionRatio: number; deadRatio: number; storedBytes: number; logicalBytes: number }
  /**
   * Damaged stored records found so far (values are checked on every warm or cold read, metadata
   * at open): how many, and the entries they belong to. A damaged entry answers CORRUPT; the rest
   * of the memory works. Put or delete an entry to replace it.
   */
  integrity: { corruptRecords: number; corruptKeys: string[]; entries: Array<{ namespace: string; key: string; what: 'value' | 'metadata' }> }
  /** The embedding cache (zeros without an embedder) and the vector index recall searches. */
  embeddings: { cache: EmbeddingCacheStats; index: VectorIndexStats }
  /** Archived entries (seed 002): how many, their bytes, what cold keeps of them, stored / original, and the bytes saved. */
  archive: { entries: number; originalBytes: number; storedBytes: number; ratio: number; savedBytes: number }
  /**
   * The stores' incarnation (an id made when they were first used), whether they were new at
   * this open, and, when a witness (MemoryOptions.witness) remembered an incarnation these stores
   * no longer hold, the eviction it reveals (null otherwise).
   */
  storage: {
    incarnation: string
    createdAt: number
    fresh: boolean
    evicted: null | { detectedAt: number; lastOpenedAt: number; entriesThen: number; previousIncarnation: string }
  }
}

/** What a storage witness keeps of a memory: the incarnation it last saw and how much it held then. */
export interface WitnessRecord {
  incarnation: string
  lastOpenedAt: number
  entries: number
}

/**
 * Somewhere that outlives the memory's storage when the browser evicts it (openMemory uses the
 * page's localStorage by default; an app can keep it on its server). Read at open, written at
 * open and close.
 */
export interface StorageWitness {
  read(): Promise<WitnessRecord | undefined>
  write(record: WitnessRecord): Promise<void>
}

export type EvictionReason = 'expired' | 'orphaned' | 'pressure' | 'cleanup' | 'manual' | 'scope' | 'dedupe'

export interface MemoryEvents {
  promoted: { key: string; namespace: string; from: Tier; to: Tier }
  demoted: { key: string; namespace: string; from: Tier; to: Tier }
  evicted: { key: string; namespace: string; reason: EvictionReason; sizeBytes: number }
  pressure: PressureReport
  alert: { name: string; severity: 'warning' | 'critical'; detail: unknown }
  cleanup: { layer: string; removed: number; remaining: number; capacity: number }
  /** An entry moved to another retention layer (seed 001 transfer or seed 004 promotion). */
  layerChanged: { key: string; namespace: string; from: string; to: string; reason: 'transfer' | 'promotion'; score?: number }
  /** Progress of re-embedding vectors another model made (the memory was opened with a new embedder): `remaining` reaches 0 when done. */
  reembedded: { done: number; remaining: number; model: string }
}

/** `Symbol.asyncDispose` where the TypeScript lib in use declares it (`esnext.disposable`, ES2024+ libs), else nothing. */
export type AsyncDisposeKey = SymbolConstructor extends { readonly asyncDispose: infer K extends symbol } ? K : never

/**
 * `[Symbol.asyncDispose]()` (what `close()` does), for `await using`. Typed only where your lib
 * knows the symbol, so the types also check under `lib: ["ES2022", "DOM"]`.
 */
export type AsyncDisposableWhereTyped = { [K in AsyncDisposeKey]: () => Promise<void> }

export interface TaskScope extends AsyncDisposableWhereTyped {
  readonly taskId: string
  /** Aborted on emergency pressure unless the scope is critical. */
  readonly signal: AbortSignal
  put(key: string, value: unknown, options?: PutOptions): Promise<EntryInfo>
  get<T = unknown>(key: string): Promise<T | undefined>
  close(options?: { keepEvidence?: boolean }): Promise<void>
}

export interface NamespaceOption {
  namespace?: string
}

export interface Memory extends AsyncDisposableWhereTyped {
  /**
   * Stores a value (anything structured clone keeps; functions and symbols are refused with
   * INVALID_VALUE) under a key of its namespace, replacing what was there. Resolves once
   * committed (durable entries) to the entry's metadata. Fails with LAYER_FULL, QUOTA_EXCEEDED,
   * INVALID_KEY / INVALID_VALUE / INVALID_OPTION, changing nothing stored. The value and its
   * options' vector and tags are taken as they are when put() is called: the caller may reuse
   * them at once, in-process and through a worker or another tab alike.
   */
  put(key: string, value: unknown, options?: PutOptions): Promise<EntryInfo>
  /** The value, from whichever tier holds it, or undefined (absent or expired). Counts an access: statistics, recency, promotion. */
  get<T = unknown>(key: string, options?: NamespaceOption): Promise<T | undefined>
  /** Metadata without updating access statistics. */
  getEntry(key: string, options?: NamespaceOption): Promise<EntryInfo | undefined>
  /** The value, as get() gives it, without counting an access: no statistics, recency or promotion (tools, dashboards). */
  peek<T = unknown>(key: string, options?: NamespaceOption): Promise<T | undefined>
  /**
   * Deletes every entry (of one namespace, if given) in one call, in batches, each batch one
   * transaction; `onProgress(done, total)` after each (done never goes down and ends at total).
   * Resolves to the number of entries removed (expired ones gc had not reached go too, uncounted,
   * as has() no longer saw them). Reads issued after it see the memory cleared.
   * The one call that is not all or nothing: if a batch fails, the batches before it stay
   * deleted (onProgress has said how many) and the rest stays stored; calling clear() again
   * finishes it.
   */
  clear(options?: { namespace?: string; onProgress?: (done: number, total: number) => void }): Promise<number>
  /** Whether a live (unexpired) entry exists, without counting an access. */
  has(key: string, options?: NamespaceOption): Promise<boolean>
  /** Deletes an entry from every tier, held or not (evict() respects references); resolves to whether there was one (an expired one was not). */
  delete(key: string, options?: NamespaceOption): Promise<boolean>
  /** Stores many entries in one transaction, all or nothing: one refused item refuses the call. */
  putMany(items: Array<{ key: string; value: unknown } & PutOptions>): Promise<EntryInfo[]>
  /** The values of many keys in order (undefined where absent), each tier asked once. */
  getMany<T = unknown>(keys: string[], options?: NamespaceOption): Promise<(T | undefined)[]>
  /** Metadata of the live entries matching every given field, in storage order, up to `limit`; no access is counted. */
  query(filter?: QueryFilter): Promise<EntryInfo[]>

  /**
   * A task scope: its puts are stored as `${taskId}:${key}` and held until the scope closes;
   * closing keeps `evidence` (moved to cold) and deletes the rest nobody else holds. Under
   * critical pressure it waits up to `pressure.scopeWaitMs`, then fails with SCOPE_PAUSED.
   */
  openScope(taskId: string, options?: { critical?: boolean; quotaBytes?: number }): Promise<TaskScope>
  /** Adds a reference: a held entry is never deleted by gc, pressure or cleanup. Resolves to the count. */
  retain(key: string, options?: NamespaceOption): Promise<number>
  /**
   * Drops a reference (NOT_HELD if none); resolves to the count. At 0 the entry is orphaned: the
   * next gc deletes it. The one call that still finds an expired entry: a holder can always let go.
   * Every other call that names an entry (retain, evict, promote, demote, restore) is NOT_FOUND
   * once it has expired, as for get() and has().
   */
  release(key: string, options?: NamespaceOption): Promise<number>
  /** Deletes an entry now (an `evicted` event, reason `manual`); REF_HELD while held. */
  evict(key: string, options?: NamespaceOption): Promise<void>
  /** Moves an entry one tier up (cold → warm → hot); resolves to its tier. */
  promote(key: string, options?: NamespaceOption): Promise<Tier>
  /** Moves an entry one tier down (hot → warm → cold); resolves to its tier. */
  demote(key: string, options?: NamespaceOption): Promise<Tier>

  /**
   * One unit vector per text, in order, from the memory's embedder. Each (embedder, text) is
   * computed once and kept in the memory's own tiers (a reserved namespace), so a reload pays
   * nothing; texts that arrive together go to the embedder as one batch. EMBEDDER_MISSING
   * without an embedder; a failed embed stores nothing.
   */
  embed(texts: string[]): Promise<Float32Array[]>
  /**
   * The entries whose vectors (`put(..., { embed | vector })`) are most similar to the query,
   * best first, from every tier: a text (embedded through the cache; EMBEDDER_MISSING without an
   * embedder) or a vector (DIMENSION_MISMATCH if its length differs from the stored ones). Only
   * entries that exist, have not expired and still hold the value their vector was made for,
   * filtered during the search, so `k` results come back when `k` match.
   */
  recall(query: string | Float32Array, options?: RecallOptions): Promise<RecallHit[]>

  /**
   * A backup of the memory as a zip streamed while it is read (docs/backup-format.md): every
   * durable, unexpired entry with its metadata and vector, a manifest, and SHA-256 checksums.
   * `incremental: true` holds only what changed since this memory's last backup (full if there
   * is none). Writes go on while it streams; each entry is taken as it stands when read.
   */
  backup(options?: BackupOptions): Promise<ReadableStream<Uint8Array>>
  /**
   * Merges entries of one namespace that hold the same bytes (seed 002): the most important is
   * kept with the others' reads summed, tags merged and the latest access; the rest are deleted
   * (an `evicted` event with reason 'dedupe' each). Held entries are left alone.
   */
  dedupe(): Promise<DedupeResult>
  /**
   * Archives entries (seed 002): by the archive rules, or every entry a filter matches. Archived
   * entries are kept in cold at a higher compression level and still read by get; `stats().archive`
   * says what it saved.
   */
  archive(filter?: ArchiveFilter): Promise<ArchiveResult>
  /** Brings archived entries (a key, or a filter's) back to warm; resolves to how many. NOT_FOUND for a key that does not exist. */
  restore(keyOrFilter: string | QueryFilter, options?: NamespaceOption): Promise<number>
  /**
   * Restores one backup, or a full one and its incrementals in order. The whole chain is checked
   * first (BACKUP_INVALID: truncated, tampered, out of order, unknown format, over a limit) and
   * nothing is written unless all of it is sound; then the backups up to `until` are applied.
   */
  restoreBackup(sources: BackupSource | BackupSource[], options?: RestoreOptions): Promise<RestoreResult>
  /** The automatic snapshots kept beside the memory (backup.auto), oldest first. */
  snapshots(): Promise<SnapshotInfo[]>
  /** One snapshot's bytes, a backup in the format backup() writes: download it, or restoreBackup() it. */
  readSnapshot(id: string): Promise<ReadableStream<Uint8Array>>

  /** Runs the background collection now: expired, orphaned, layer promotion, idle demotion, capacity relief. */
  gc(): Promise<GcStats>
  /** Counts and bytes per tier and layer, rates, pressure, hit rates, latency, health, warm pages, cold store, integrity. */
  stats(): Promise<MemoryStats>
  /** Runs one round of the pressure monitor now: samples the signals, updates the level, acts on it. */
  checkPressure(): Promise<PressureReport>
  /** Change budgets and policies at run time (e.g. switch force cleanup off). */
  configure(options: RuntimeOptions): Promise<void>
  /** Subscribes to an event; resolves to the function that unsubscribes. */
  on<E extends keyof MemoryEvents>(event: E, handler: (e: MemoryEvents[E]) => void): Promise<() => void>
  /** Writes access statistics gathered since the last flush (they are otherwise written in the background). */
  flush(): Promise<void>
  /** Waits for what was issued, flushes, stops background work and closes the stores; later calls fail with CLOSED. */
  close(): Promise<void>
}

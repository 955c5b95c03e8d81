import type { ForwardedMethod } from '../core/api/surface.ts'
import type {
  EntryInfo,
  Memory,
  MemoryEvents,
  MemoryOptions,
  NamespaceOption,
  PutOptions,
  Embedder,
  EmbedderModelOptions,
  EmbedderProgress,
  EmbeddingOptions,
  BackupSource,
  RestoreResult,
  StorageWitness,
} from '../core/api/types.ts'
import type { OpfsStoreOptions } from '../stores/opfs-store.ts'
import type { serializeError } from './error-transfer.ts'

/**
 * The wire protocol between the page client and a memory host: the shapes of what crosses the
 * boundary, imported by both sides (src/client and src/hosts) and by nothing in the engine.
 */

/**
 * What crosses the boundary for reads: the values as they are (a structured clone), and the
 * positions that hold encoded bytes (warm and cold reads, transferred) for the page to decode.
 * No wrapper object per value: a batch of 1,000 clones 1,000 fewer objects.
 */
export interface WireValues {
  values: unknown[]
  encoded: number[]
}

/** Puts whose encoded values travel in one transferred buffer. */
export interface PackedPuts {
  buffer: ArrayBuffer
  items: Array<{ key: string; offset: number; length: number; options?: PutOptions }>
}

export type PutResult = { ok: EntryInfo } | { error: ReturnType<typeof serializeError> }

/** The puts of a PackedPuts, each with a view of its bytes in the one buffer. */
export const unpackPuts = (packed: PackedPuts) =>
  packed.items.map(({ key, offset, length, options }) => ({ ...options, key, bytes: new Uint8Array(packed.buffer, offset, length) }))

/** Serializable options for opening the engine in the worker (no stores, no clock: the worker owns those). */
export interface HostOpenOptions extends Omit<MemoryOptions, 'stores' | 'clock' | 'embeddings' | 'witness'> {
  name: string
  /** A Web Lock the worker holds for its whole life: the page learns of the worker's death when it is granted. */
  lifeLock?: string
  /** Tuning of the OPFS cold store (block and segment sizes, deflate level, compaction). */
  opfs?: Omit<OpfsStoreOptions, 'directory'>
  embeddings?: HostEmbeddingOptions
}

/** `embeddings` as it crosses to the worker: the model the worker loads next to the engine, and the cache's limits. */
export interface HostEmbeddingOptions {
  model?: EmbedderModelOptions
  cache?: EmbeddingOptions['cache']
  index?: EmbeddingOptions['index']
}

/** How a host builds an embedder from a model's options (only the embeddings worker has one). */
export type EmbedderFactory = (model: EmbedderModelOptions, onProgress?: (progress: EmbedderProgress) => void) => Promise<Embedder>

export type HostEvent = keyof MemoryEvents | 'scopeAborted'
export type EventSink = (event: HostEvent, payload: unknown) => void

/**
 * What a host serves on each connection: the Memory methods the surface table forwards as they
 * are (src/core/api/surface.ts), and the calls whose wire form is its own. The host implements
 * it and the page client calls it; neither imports the other.
 */
export interface MemoryHost extends Pick<Memory, ForwardedMethod> {
  /** Opens the engine; `onProgress` (a comlink proxy) hears of the model's download while the worker loads it. */
  open(options: HostOpenOptions, onProgress?: (progress: EmbedderProgress) => void, witness?: StorageWitness): Promise<{ coldBackend: string }>
  /** Serves another connection to the same engine on a port this one hands over (another tab's). */
  connect(port: MessagePort): void
  setEventSink(next: EventSink | undefined): void
  /** The page added its first handler for `event`. */
  subscribe(event: HostEvent): Promise<void>
  /** Single puts that the page issued together: one batch, each settling on its own. */
  putEach(packed: PackedPuts): Promise<PutResult[]>
  putMany(packed: PackedPuts): Promise<EntryInfo[]>
  get(key: string, options?: NamespaceOption): Promise<WireValues>
  peek(key: string, options?: NamespaceOption): Promise<WireValues>
  /** clear() with the page's progress callback as a comlink proxy. */
  clear(namespace: string | undefined, onProgress?: (done: number, total: number) => void): Promise<number>
  getMany(keys: string[], options?: NamespaceOption): Promise<WireValues>
  /** backup(): the stream is transferred to the page; progress reaches the page's callback as a comlink proxy. */
  backup(options: { incremental: boolean; level: number }, onProgress?: (done: number, total: number) => void): Promise<ReadableStream<Uint8Array>>
  /** readSnapshot(): the snapshot's stream, transferred to the page. */
  readSnapshot(id: string): Promise<ReadableStream<Uint8Array>>
  /** restoreBackup(): streams among the sources are transferred, bytes and Blobs cloned. */
  restoreBackup(
    sources: BackupSource[],
    options: { mode: 'merge' | 'replace'; until?: number },
    onProgress?: (done: number, total: number) => void,
  ): Promise<RestoreResult>
  /** A signal the page sampled (performance.memory exists only in the window). */
  reportSignal(signal: { source: string; resource: 'memory' | 'storage'; used: number; limit: number }): void
  close(): Promise<void>
  openScope(taskId: string, options?: { critical?: boolean; quotaBytes?: number }): Promise<{ id: number; taskId: string }>
  scopePut(id: number, key: string, value: unknown, options?: PutOptions): Promise<EntryInfo>
  scopeGet(id: number, key: string): Promise<unknown>
  scopeClose(id: number, options?: { keepEvidence?: boolean }): Promise<void>
}

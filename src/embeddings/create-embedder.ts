import type * as TransformersModule from '@huggingface/transformers'
import { TiermemError } from '../core/api/errors.ts'
import type { Embedder, EmbedderModelOptions, EmbedderProgress } from '../core/api/types.ts'

export interface EmbedderOptions extends EmbedderModelOptions {
  /** Model download progress: each file's bytes loaded of its total. */
  onProgress?: (progress: EmbedderProgress) => void
}

type Transformers = typeof TransformersModule
type Extractor = Awaited<ReturnType<Transformers['pipeline']>> & {
  (texts: string[], options: { pooling: 'mean'; normalize: true }): Promise<{ data: Float32Array; dims: number[] }>
  model: { config: { hidden_size?: number } }
}

/**
 * An embedder over transformers.js: `pipeline('feature-extraction', model, { dtype, device })`,
 * mean pooling over the attention mask, unit length. transformers.js is an optional peer
 * dependency, imported only here: a user who never imports `tiermem/embeddings` never loads it.
 */
export async function createEmbedder(options: EmbedderOptions = {}): Promise<Embedder> {
  const model = options.model ?? 'Xenova/all-MiniLM-L6-v2'
  const dtype = options.dtype ?? 'q8'
  let transformers: Transformers
  try {
    transformers = await import('@huggingface/transformers')
  } catch (error) {
    throw new TiermemError('INVALID_OPTION', 'createEmbedder needs @huggingface/transformers: npm install @huggingface/transformers', { cause: error })
  }
  const { env, pipeline } = transformers
  if (options.localModelPath !== undefined) {
    env.localModelPath = options.localModelPath
    env.allowLocalModels = true
  }
  if (options.allowRemoteModels !== undefined) env.allowRemoteModels = options.allowRemoteModels
  const wasm = env.backends.onnx.wasm
  if (options.wasmPaths !== undefined && wasm) wasm.wasmPaths = options.wasmPaths
  const device = options.device === undefined || options.device === 'auto' ? await autoDevice() : options.device
  let extractor: Extractor
  try {
    extractor = (await pipeline('feature-extraction', model, {
      dtype,
      device,
      ...(options.onProgress ? { progress_callback: progressReporter(options.onProgress) } : {}),
    })) as unknown as Extractor
  } catch (error) {
    throw new TiermemError('INVALID_OPTION', `could not load the embedding model '${model}' (${dtype}, ${device}): ${(error as Error)?.message ?? error}`, {
      cause: error,
    })
  }
  let dims = extractor.model.config.hidden_size ?? 0
  if (!dims) dims = (await extractor([''], { pooling: 'mean', normalize: true })).dims.at(-1)!
  return {
    id: `${model}@${dtype}:mean`,
    dims,
    async embed(texts: string[]): Promise<Float32Array[]> {
      if (texts.length === 0) return []
      const output = await extractor(texts, { pooling: 'mean', normalize: true })
      const width = output.dims.at(-1)!
      // One copy per text: views into the pipeline's buffer would pin all of it.
      return texts.map((_, i) => output.data.slice(i * width, (i + 1) * width))
    },
  }
}

/** WebGPU where an adapter exists; else wasm in a browser or worker, cpu in Node. */
async function autoDevice(): Promise<'webgpu' | 'wasm' | 'cpu'> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu
  if (gpu) {
    try {
      if (await gpu.requestAdapter()) return 'webgpu'
    } catch {
      // No adapter: fall through to the CPU paths.
    }
  }
  const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string'
  return isNode && typeof (globalThis as { window?: unknown }).window === 'undefined' ? 'cpu' : 'wasm'
}

/** transformers.js reports 'initiate' / 'progress' / 'done' per file; the page gets bytes per file. */
function progressReporter(onProgress: NonNullable<EmbedderOptions['onProgress']>) {
  return (event: { status?: string; file?: string; loaded?: number; total?: number }) => {
    if (event.status === 'progress' && event.file !== undefined) onProgress({ file: event.file, loaded: event.loaded ?? 0, total: event.total ?? 0 })
    else if (event.status === 'done' && event.file !== undefined) onProgress({ file: event.file, loaded: event.total ?? 1, total: event.total ?? 1 })
  }
}

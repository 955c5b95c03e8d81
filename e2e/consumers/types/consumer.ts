// Type-checked under the consumer's strict settings (never run): the public types of every subpath.
import { openMemory, type OpenMemoryOptions, type RemoteMemory } from 'tiermem'
import { createEmbedder, type Embedder, type EmbedderOptions } from 'tiermem/embeddings'
import { createMemory, memoryStore, TiermemError, isTiermemError, type Memory, type EntryInfo, type MemoryStats, type TaskScope } from 'tiermem/core'

const options: OpenMemoryOptions = { name: 'assistant', workerUrl: '/tiermem-worker.js', hot: { maxBytes: 2 ** 20 } }

export async function inTheBrowser(): Promise<string | undefined> {
  const mem: RemoteMemory = await openMemory(options)
  const info: EntryInfo = await mem.put('msg:1', { role: 'user', text: 'hi' }, { type: 'message', importance: 0.4 })
  const text = await mem.get<{ text: string }>('msg:1')
  const stats: MemoryStats = await mem.stats()
  await mem.close()
  return `${info.tier} ${stats.tiers.hot.count} ${text?.text}`
}

export async function inProcess(): Promise<number> {
  const mem: Memory = await createMemory({ stores: { warm: memoryStore(), cold: memoryStore() } })
  const scope: TaskScope = await mem.openScope('plan')
  await scope.put('draft', [1, 2, 3])
  await scope.close()
  const off = await mem.on('evicted', (event) => console.log(event.key, event.reason))
  off()
  try {
    await mem.put('', 1)
  } catch (error) {
    if (isTiermemError(error, 'INVALID_KEY') && error instanceof TiermemError) return error.code.length
  }
  return (await mem.clear({ onProgress: (done: number, total: number) => console.log(done, total) })) + 0
}

/** The embeddings entry type-checks without transformers.js installed (its types never leak). */
export async function embeddings(): Promise<number> {
  const options: EmbedderOptions = { model: 'Xenova/all-MiniLM-L6-v2', dtype: 'q8', device: 'auto', wasmPaths: '/ort/' }
  const embedder: Embedder = await createEmbedder(options)
  const own: Embedder = { id: 'my-api@1', dims: 3, embed: async (texts) => texts.map(() => new Float32Array(3)) }
  return (await embedder.embed(['hello']))[0]!.length + own.dims
}

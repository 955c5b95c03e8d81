// A page bundled by esbuild, which does not follow new URL(..., import.meta.url): the worker is
// bundled as an entry of its own (tiermem/worker → out/tiermem-worker.js) and named here.
import { openMemory } from 'tiermem'

try {
  const mem = await openMemory({ name: 'notes', workerUrl: new URL('./tiermem-worker.js', import.meta.url) })
  const before = await mem.get('note')
  if (before === undefined) await mem.put('note', { text: 'remember the milk', at: new Date(0) }, { layer: 'assets' })
  const seen = before && { text: before.text, at: before.at.toISOString() }
  document.body.dataset.result = JSON.stringify({ before: seen ?? null, backend: mem.coldBackend })
} catch (error) {
  document.body.dataset.result = JSON.stringify({ error: `${error.code}: ${error.message}` })
}

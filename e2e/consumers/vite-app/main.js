// A user's first Vite page: no config of tiermem's, just the package from npm.
import { openMemory } from 'tiermem'

try {
  const mem = await openMemory({ name: 'notes' })
  const before = await mem.get('note')
  if (before === undefined) await mem.put('note', { text: 'remember the milk', tags: new Set(['shopping']) }, { layer: 'assets' })
  const seen = before && { text: before.text, tags: [...before.tags] }
  document.body.dataset.result = JSON.stringify({ before: seen ?? null, backend: mem.coldBackend })
} catch (error) {
  document.body.dataset.result = JSON.stringify({ error: `${error.code}: ${error.message}` })
}

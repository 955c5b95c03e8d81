// The mistake the docs warn about: an esbuild bundle that relies on openMemory()'s default
// worker URL, which esbuild leaves pointing at a file it never emitted. It must reject, not hang.
import { openMemory } from 'tiermem'

try {
  await openMemory({ name: 'missing' })
  document.body.dataset.result = JSON.stringify({ opened: true })
} catch (error) {
  document.body.dataset.result = JSON.stringify({ error: { name: error.name, code: error.code, message: error.message } })
}

import { defineConfig, type Plugin } from 'vite'
import { writeTinyModel } from '../test/fixtures/tiny-model.ts'

/** The tiny test model under /models/ (demo/public/models, generated, not committed): embeddings work offline. */
const tinyModel = (): Plugin => ({
  name: 'tiermem:tiny-model',
  buildStart() {
    writeTinyModel(new URL('./public/models/', import.meta.url).pathname)
  },
})

/**
 * The playground. Served cross-origin isolated so the page may call
 * performance.measureUserAgentSpecificMemory(); everything it loads is same-origin.
 */
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' }

export default defineConfig({
  root: new URL('.', import.meta.url).pathname,
  server: { port: 5173, headers: isolation, fs: { allow: [new URL('..', import.meta.url).pathname] } },
  preview: { port: 4173, headers: isolation },
  build: { outDir: new URL('./dist', import.meta.url).pathname, emptyOutDir: true, target: 'es2022' },
  worker: { format: 'es' },
  plugins: [tinyModel()],
})

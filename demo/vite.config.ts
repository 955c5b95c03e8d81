import { defineConfig } from 'vite'

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
})

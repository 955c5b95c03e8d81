import { defineConfig } from 'vite'

// Serves e2e/harness with the built library (dist/, through the package's own name).
export default defineConfig({
  root: new URL('./harness/', import.meta.url).pathname,
  server: { port: 5174, strictPort: true, fs: { allow: [new URL('..', import.meta.url).pathname] } },
  logLevel: 'warn',
  // Every dependency of the page and its worker bundled at start: one discovered only when a test
  // starts the worker would make Vite re-optimise and reload the page under that test.
  optimizeDeps: { include: ['comlink', 'idb', 'fflate', 'msgpackr'] },
})

import { defineConfig } from 'vite'

// Serves e2e/harness with the library from source.
export default defineConfig({
  root: new URL('./harness/', import.meta.url).pathname,
  server: { port: 5174, strictPort: true, fs: { allow: [new URL('..', import.meta.url).pathname] } },
  logLevel: 'warn',
})

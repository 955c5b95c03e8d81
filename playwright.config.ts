import { defineConfig } from '@playwright/test'
import { CHROMIUM_ARGS, chromiumPath } from './scripts/chromium.ts'

const executablePath = chromiumPath()
const launchOptions = { ...(executablePath ? { executablePath } : {}), args: CHROMIUM_ARGS }

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results/e2e',
  fullyParallel: false,
  workers: 1,
  timeout: 90_000,
  reporter: [['list'], ['json', { outputFile: 'test-results/e2e.json' }]],
  use: { browserName: 'chromium', launchOptions, viewport: { width: 1280, height: 800 } },
  projects: [
    // The library on a bare page, from source.
    { name: 'library', testMatch: /(library|tabs)\.spec\.ts/, use: { baseURL: 'http://127.0.0.1:5174' } },
    // The demo as users get it: built, then served by vite preview.
    { name: 'demo', testMatch: 'demo.spec.ts', use: { baseURL: 'http://127.0.0.1:4173' } },
    // The packed tarball installed into scratch projects outside the repository.
    { name: 'consumers', testMatch: 'consumers.spec.ts' },
  ],
  webServer: [
    { command: 'npx vite --config e2e/harness.vite.config.ts --host 127.0.0.1', url: 'http://127.0.0.1:5174/', reuseExistingServer: false, timeout: 60_000 },
    {
      // vite build alone, not npm run build:demo: its prebuild rewrites dist/ while the library
      // harness serves it, and the dev server reloaded the page under the first test (seen in CI).
      // npm test builds dist/ first.
      command: 'npx vite build --config demo/vite.config.ts && npx vite preview --config demo/vite.config.ts --host 127.0.0.1 --port 4173 --strictPort',
      url: 'http://127.0.0.1:4173/',
      reuseExistingServer: false,
      timeout: 120_000,
    },
  ],
})

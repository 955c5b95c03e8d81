import { defineConfig } from '@playwright/test'
import { CHROMIUM_ARGS, chromiumPath } from './scripts/chromium.ts'

const executablePath = chromiumPath()

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results/e2e',
  fullyParallel: false,
  workers: 1,
  timeout: 60_000,
  reporter: [['list'], ['json', { outputFile: 'test-results/e2e.json' }]],
  use: {
    browserName: 'chromium',
    launchOptions: { ...(executablePath ? { executablePath } : {}), args: CHROMIUM_ARGS },
    baseURL: 'http://127.0.0.1:5174',
  },
  webServer: [
    { command: 'npx vite --config e2e/harness.vite.config.ts --host 127.0.0.1', url: 'http://127.0.0.1:5174/', reuseExistingServer: false, timeout: 60_000 },
  ],
})

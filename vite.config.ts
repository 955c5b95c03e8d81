import { playwright } from '@vitest/browser-playwright'
import { defineConfig } from 'vitest/config'
import { CHROMIUM_ARGS, chromiumPath } from './scripts/chromium.ts'

const browserProject = () => {
  const executablePath = chromiumPath()
  return {
    // Found up front: a dependency first met mid-run makes Vite re-optimise and reload the test page.
    optimizeDeps: { include: ['fflate', 'comlink', 'idb', 'msgpackr', '@noble/hashes/sha2', '@noble/hashes/utils'] },
    test: {
      name: 'browser',
      include: ['test/browser/**/*.test.ts'],
      globalSetup: ['test/fixtures/global-setup.ts'],
      testTimeout: 30_000,
      browser: {
        enabled: true,
        headless: true,
        provider: playwright({ launchOptions: { ...(executablePath ? { executablePath } : {}), args: CHROMIUM_ARGS } }),
        instances: [{ browser: 'chromium' as const }],
      },
    },
  }
}

export default defineConfig(({ mode }) => ({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/browser/**', 'test/edge/**', 'node_modules/**'],
          environment: 'node',
          globalSetup: ['test/fixtures/global-setup.ts'],
        },
      },
      // The edge variants where they run: workerd (Miniflare) and Deno, driven from Node.
      {
        test: {
          name: 'edge',
          include: ['test/edge/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
      // Only resolve a Chromium when browser tests are asked for.
      ...(process.argv.includes('browser') || mode === 'browser' ? [browserProject()] : []),
    ],
  },
}))

/**
 * Which Chromium the browser tests, e2e tests and benchmarks drive: $CHROMIUM_PATH, else the
 * system's /usr/bin/chromium, else Playwright's own download. With none, fail with directions.
 */
import { existsSync } from 'node:fs'
import { chromium } from 'playwright'

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
]

export function chromiumPath(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist`)
    return fromEnv
  }
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium'
  let bundled: string | undefined
  try {
    bundled = chromium.executablePath()
  } catch {
    bundled = undefined
  }
  if (bundled && existsSync(bundled)) return undefined // Playwright finds its own
  throw new Error(
    'No Chromium found for the browser tests. Install one of:\n' +
      '  - Debian/Ubuntu: apt-get install -y chromium   (then /usr/bin/chromium is used)\n' +
      '  - any Chromium, and set CHROMIUM_PATH=/path/to/chromium\n' +
      "  - Playwright's own build: npx playwright install chromium",
  )
}

/**
 * The playground's screenshots in docs/ (1280 and 420 px wide): builds the demo, serves it with
 * vite preview, generates load, and captures the page. `npm run screenshots`.
 */
import { spawn } from 'node:child_process'
import { chromium } from 'playwright'
import { CHROMIUM_ARGS, chromiumPath } from './chromium.ts'

const port = 4199
const server = spawn(
  process.execPath,
  ['node_modules/vite/bin/vite.js', 'preview', '--config', 'demo/vite.config.ts', '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
  { stdio: 'inherit' },
)
const executablePath = chromiumPath()
const browser = await chromium.launch({ ...(executablePath ? { executablePath } : {}), args: CHROMIUM_ARGS })
try {
  await new Promise((resolve) => setTimeout(resolve, 2_000))
  for (const width of [1280, 420]) {
    const page = await browser.newPage({ viewport: { width, height: 900 } })
    await page.goto(`http://127.0.0.1:${port}/`)
    await page.locator('#status').getByText('ready').waitFor({ timeout: 30_000 })
    {
      await page.fill('#message', 'The user is allergic to peanuts; never suggest satay.')
      await page.locator('#importance').fill('0.9')
      await page.click('#chat-form button[type=submit]')
      await page.fill('#load-count', '600')
      await page.click('#load-button')
      await page.locator('#load-status').getByText('done').waitFor({ timeout: 60_000 })
      await page.click('#shrink')
      await page.waitForTimeout(2_500)
      await page.click('#restore')
      await page.fill('#q-text', 'peanut')
      await page.click('#query-form button[type=submit]')
      await page.locator('#entries-count').getByText('containing').waitFor()
      await page.locator('#entries tbody tr').first().click()
      await page.locator('#entry-value-body').getByText('peanuts').waitFor()
    }
    await page.waitForTimeout(2_500)
    await page.screenshot({ path: `docs/playground-${width}.png`, fullPage: true })
    await page.close()
  }
} finally {
  await browser.close()
  server.kill()
}

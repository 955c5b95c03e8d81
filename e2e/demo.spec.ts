import { readFileSync } from 'node:fs'
import { expect, test, type Page } from '@playwright/test'

/** Opens the demo and fails the test on any console error or uncaught exception. */
async function openDemo(page: Page): Promise<string[]> {
  const errors: string[] = []
  page.on('console', (message) => message.type() === 'error' && errors.push(message.text()))
  page.on('pageerror', (error) => errors.push(String(error)))
  await page.goto('/')
  await expect(page.locator('#status')).toHaveText('ready', { timeout: 30_000 })
  return errors
}
const count = (page: Page, tier: string) => page.locator(`.tier[data-tier="${tier}"] dd[data-field="entries"]`)

test('the playground loads with no console errors and shows every tier, signal and the health score', async ({ page }) => {
  const errors = await openDemo(page)
  await expect(page.locator('#backend')).toHaveText('cold: opfs')
  for (const tier of ['hot', 'warm', 'cold']) await expect(count(page, tier)).toHaveText(/^\d+$/)
  await expect(page.locator('#signals li[data-source="budget:hot"]')).toBeVisible()
  await expect(page.locator('#signals li[data-source="storage"]')).toBeVisible()
  await expect(page.locator('#signals li[data-source="heap"]')).toBeVisible()
  await expect(page.locator('#health-score')).toHaveText(/^\d+$/)
  expect(errors).toEqual([])
})

test('typed messages appear in the entry browser and survive a reload', async ({ page }) => {
  const errors = await openDemo(page)
  const text = `remember the peanut allergy ${Date.now()}`
  await page.fill('#message', text)
  await page.locator('#importance').fill('0.9')
  await page.click('#chat-form button[type=submit]')
  await expect(page.locator('#control-status')).toContainText('remembered msg:')
  await page.fill('#q-type', 'message')
  await page.click('#query-form button[type=submit]')
  const row = page.locator('#entries tbody tr').filter({ hasText: 'chat' }).first()
  await expect(row).toBeVisible()
  const key = await row.getAttribute('data-key')
  await page.reload()
  await expect(page.locator('#status')).toHaveText('ready', { timeout: 30_000 })
  await page.fill('#q-tag', 'chat')
  await page.click('#query-form button[type=submit]')
  await expect(page.locator(`#entries tbody tr[data-key="${key}"]`)).toBeVisible()
  expect(errors).toEqual([])
})

test('what you typed is findable among a load, and a click on its row shows its value', async ({ page }) => {
  const errors = await openDemo(page)
  const text = `my passport number ends in ${Date.now() % 10_000}`
  await page.fill('#message', text)
  await page.click('#chat-form button[type=submit]')
  await expect(page.locator('#control-status')).toContainText('remembered msg:')
  await page.fill('#load-count', '300')
  await page.click('#load-button')
  await expect(page.locator('#load-status')).toContainText('done', { timeout: 60_000 })
  await page.fill('#q-text', 'passport')
  await page.click('#query-form button[type=submit]')
  await expect(page.locator('#entries-count')).toContainText('1 containing')
  await page.locator('#entries tbody tr').first().click()
  await expect(page.locator('#entry-value-body')).toContainText(text)
  // Reads come in getMany batches here: hot p95 must still show a figure.
  await expect(page.locator('.tier[data-tier="hot"] dd[data-field="p95"]')).not.toHaveText('–')
  // The chart's legend shows the latest sizes without hovering.
  await expect(page.locator('#chart .u-legend .u-series').nth(1).locator('.u-value')).toHaveText(/\d/)
  expect(errors).toEqual([])
})

test('the embeddings panel embeds what you type, stores the message with its vector, and shows similar memories as you type', async ({ page }) => {
  const errors = await openDemo(page)
  await expect(page.locator('#embed-status')).toContainText('ready', { timeout: 30_000 })
  await expect(page.locator('#embed-progress')).toBeHidden()
  // Typing embeds the text: computed once, then a cache hit (the put with embed: true is one too).
  await page.fill('#message', 'book a table for two')
  await expect(page.locator('#embed-last')).toContainText('computed, now cached')
  await expect(page.locator('#embed-last')).toContainText('384 dims')
  await page.click('#chat-form button[type=submit]')
  await page.fill('#message', 'the user is vegetarian')
  await expect(page.locator('#embed-last')).toContainText('“the user is vegetarian”')
  await page.click('#chat-form button[type=submit]')
  // Typing the first message again: a cache hit, and recall puts that message first with score 1.
  await page.fill('#message', 'book a table for two')
  await expect(page.locator('#embed-last')).toContainText('cache hit')
  await expect(page.locator('#similar li')).toHaveCount(2)
  await expect(page.locator('#similar li').first()).toContainText('1.000 book a table for two')
  await expect(page.locator('#similar-status')).toContainText('2 of the stored messages')
  await expect(page.locator('#embed-cache')).toContainText(/2 vectors.*6 hits, 2 misses/)
  expect(errors).toEqual([])
})

test('a model that cannot load costs the embeddings, not the playground', async ({ page }) => {
  await page.goto('/?model=nobody/missing-model')
  await expect(page.locator('#status')).toHaveText('ready', { timeout: 30_000 })
  await expect(page.locator('#embed-status')).toContainText('no embeddings: nobody/missing-model did not load')
  await page.fill('#message', 'still works')
  await page.click('#chat-form button[type=submit]')
  await expect(page.locator('#control-status')).toContainText('remembered msg:')
})

test('Clear store clears in one call with a progress bar', async ({ page }) => {
  const errors = await openDemo(page)
  await page.fill('#load-count', '200')
  await page.click('#load-button')
  await expect(page.locator('#load-status')).toContainText('done', { timeout: 60_000 })
  await page.click('#clear')
  await expect(page.locator('#control-status')).toContainText(/cleared \d+ entries/, { timeout: 30_000 })
  await expect(page.locator('#clear-progress')).toBeHidden()
  for (const tier of ['hot', 'warm', 'cold']) await expect(count(page, tier)).toHaveText('0', { timeout: 5_000 })
  expect(errors).toEqual([])
})

test('Download backup, Clear store, Restore backup: the entries come back; a damaged file is refused and changes nothing', async ({ page }) => {
  const errors = await openDemo(page)
  await page.fill('#load-count', '200')
  await page.click('#load-button')
  await expect(page.locator('#load-status')).toContainText('done', { timeout: 60_000 })
  const downloading = page.waitForEvent('download')
  await page.click('#backup-download')
  const download = await downloading
  expect(download.suggestedFilename()).toMatch(/^tiermem-playground-.*\.zip$/)
  await expect(page.locator('#control-status')).toContainText('backup downloaded')
  const path = await download.path()
  const zip = readFileSync(path)

  await page.click('#clear')
  await expect(page.locator('#control-status')).toContainText(/cleared \d+ entries/, { timeout: 30_000 })
  const damaged = Buffer.from(zip)
  damaged[Math.floor(damaged.length / 3)]! ^= 0xff
  await page.setInputFiles('#backup-file', { name: 'damaged.zip', mimeType: 'application/zip', buffer: damaged })
  await expect(page.locator('#control-status')).toContainText('restore refused, nothing changed')
  for (const tier of ['hot', 'warm', 'cold']) await expect(count(page, tier)).toHaveText('0')

  await page.setInputFiles('#backup-file', path)
  await expect(page.locator('#control-status')).toContainText(/restored \d+ entries/, { timeout: 30_000 })
  await expect(page.locator('#backup-progress')).toBeHidden()
  const total = async () => {
    let sum = 0
    for (const tier of ['hot', 'warm', 'cold']) sum += Number(await count(page, tier).textContent())
    return sum
  }
  await expect.poll(total, { timeout: 5_000 }).toBeGreaterThanOrEqual(200)
  expect(errors).toEqual([])
})

test('the layout fits 420 px, and a second tab of the playground works as a follower of the first', async ({ page, context }) => {
  await page.setViewportSize({ width: 420, height: 900 })
  const errors = await openDemo(page)
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(420)
  await expect(page.locator('#role')).toContainText('leader')
  const second = await context.newPage()
  const secondErrors: string[] = []
  second.on('pageerror', (error) => secondErrors.push(String(error)))
  await second.goto('/')
  await expect(second.locator('#status')).toHaveText('ready', { timeout: 30_000 })
  await expect(second.locator('#role')).toContainText('follower')
  // A message remembered in the second tab is in the first tab's memory.
  await second.fill('#message', 'typed in the second tab')
  await second.click('#chat-form button[type=submit]')
  await expect(second.locator('#control-status')).toContainText('remembered msg:')
  await page.fill('#q-type', 'message')
  await page.click('#query-form button[type=submit]')
  await expect(page.locator('#entries tbody tr').filter({ hasText: 'chat' }).first()).toBeVisible({ timeout: 10_000 })
  await second.close()
  expect(secondErrors).toEqual([])
  expect(errors).toEqual([])
})

test('generating load moves entries into warm and cold, shrinking budgets raises pressure and gc lowers it', async ({ page }, testInfo) => {
  const errors = await openDemo(page)
  await page.fill('#load-count', '600')
  await page.click('#load-button')
  await expect(page.locator('#load-status')).toContainText('done', { timeout: 60_000 })
  await expect(count(page, 'warm')).not.toHaveText('0', { timeout: 15_000 })
  await expect(count(page, 'cold')).not.toHaveText('0', { timeout: 15_000 })
  await expect(page.locator('#events li').first()).toBeVisible()
  await expect(page.locator('#events')).toContainText('demoted')

  // A steady load does not walk the level up and down: no level is entered twice.
  const levels = await page.locator('#level-history li').evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.level))
  expect(new Set(levels).size).toBe(levels.length)

  await page.click('#shrink')
  // The level rises on screen, with the signal and threshold that raised it (the history keeps
  // spikes the engine relieves within a second).
  await expect(page.locator('#level-history')).toContainText(/(critical|emergency): budget:\w+ at \d+ % ≥ (80|95) %/, { timeout: 10_000 })
  await page.click('#gc')
  // gc says what it did and, if pressure is still high, what would relieve it.
  await expect(page.locator('#control-status')).toContainText(/gc: .*(every signal is below 70 %|still \w+: .* is at)/)
  await expect(page.locator('#level')).toHaveText(/normal|warning/, { timeout: 10_000 })

  await page.click('#restore')
  await page.waitForTimeout(1_500) // one more refresh of the chart
  const shot = await page.screenshot()
  await testInfo.attach('dashboard', { body: shot, contentType: 'image/png' })
  await page.screenshot({ path: testInfo.outputPath('dashboard.png') })
  expect(errors).toEqual([])
})

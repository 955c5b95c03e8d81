import { chromium, expect, test, type Page } from '@playwright/test'
import { CHROMIUM_ARGS, chromiumPath } from '../scripts/chromium.ts'
import { bundleTestWorker, startWorkerd } from '../test/edge/cloudflare/workerd.ts'

const plain = { maintenanceIntervalMs: 0, policy: { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' as const } } } }

async function ready(page: Page): Promise<void> {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(String(e)))
  await page.goto('/')
  await expect(page.locator('#status')).toHaveText('ready')
  expect(errors).toEqual([])
}

test('data survives a page reload', async ({ page }) => {
  await ready(page)
  await page.evaluate(async (options) => {
    const mem = await window.tiermem.openMemory({ name: 'reload', ...options })
    await mem.putMany(
      Array.from({ length: 300 }, (_, i) => ({ key: `m${i}`, value: { i, text: `message ${i}` }, tier: (['hot', 'warm', 'cold'] as const)[i % 3] })),
    )
    // No close(): a reload tears the page and its worker down as they are.
  }, plain)
  await page.reload()
  await expect(page.locator('#status')).toHaveText('ready')
  const result = await page.evaluate(async (options) => {
    const mem = await window.tiermem.openMemory({ name: 'reload', ...options })
    const values = await mem.getMany(Array.from({ length: 300 }, (_, i) => `m${i}`))
    const stats = await mem.stats()
    await mem.close()
    return { ok: values.every((v, i) => (v as { i: number }).i === i), tiers: stats.tiers, backend: stats.cold.backend }
  }, plain)
  expect(result.ok).toBe(true)
  expect(result.backend).toBe('opfs')
  expect(result.tiers.cold.count).toBe(100)
})

test('a write refused for quota fails with QUOTA_EXCEEDED and loses nothing stored', async ({ baseURL }) => {
  // Chromium enforces an overridden quota only in a real profile, not an off-the-record context.
  const executablePath = chromiumPath()
  // In the test's output folder, which Playwright empties at the start of every run.
  const context = await chromium.launchPersistentContext(test.info().outputPath('profile'), {
    ...(executablePath ? { executablePath } : {}),
    args: CHROMIUM_ARGS,
    baseURL,
  })
  const page = await context.newPage()
  await ready(page)
  // A real quota, enforced by Chromium: the DevTools protocol shrinks this origin's quota. It must
  // be set before the origin first uses storage (Chromium caches the quota of an active origin).
  const cdp = await context.newCDPSession(page)
  const origin = new URL(page.url()).origin
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 3_000_000 })
  const outcome = await page.evaluate(async (options) => {
    const mem = await window.tiermem.openMemory({ name: 'quota', ...options })
    await mem.put('kept', { note: 'stored before the quota ran out' }, { tier: 'warm' })
    let error: { code?: string; message?: string; cause?: { name?: string } } | undefined
    for (let i = 0; i < 200 && !error; i++) {
      const bytes = crypto.getRandomValues(new Uint8Array(64 * 1024)) // random: Chromium would compress a pattern
      error = await mem.put(`big${i}`, bytes, { tier: 'warm' }).then(
        () => undefined,
        (e: { code?: string; message?: string; cause?: { name?: string } }) => ({ code: e.code, message: e.message, cause: { name: e.cause?.name } }),
      )
    }
    await mem.close()
    return error
  }, plain)
  expect(outcome).toMatchObject({ code: 'QUOTA_EXCEEDED', cause: { name: 'QuotaExceededError' } })
  await cdp.send('Storage.overrideQuotaForOrigin', { origin })
  const kept = await page.evaluate(async (options) => {
    const mem = await window.tiermem.openMemory({ name: 'quota', ...options })
    const value = await mem.get('kept')
    await mem.put('after', 1)
    const after = await mem.get('after')
    await mem.close()
    return { value, after }
  }, plain)
  expect(kept).toEqual({ value: { note: 'stored before the quota ran out' }, after: 1 })
  await context.close()
})

test('data survives a browser restart', async ({ baseURL }) => {
  const executablePath = chromiumPath()
  const profile = test.info().outputPath('profile')
  const launch = () => chromium.launchPersistentContext(profile, { ...(executablePath ? { executablePath } : {}), args: CHROMIUM_ARGS, baseURL })
  let context = await launch()
  let page = await context.newPage()
  await ready(page)
  await page.evaluate(async (options) => {
    const mem = await window.tiermem.openMemory({ name: 'restart', ...options })
    await mem.putMany(Array.from({ length: 90 }, (_, i) => ({ key: `r${i}`, value: { i }, tier: (['hot', 'warm', 'cold'] as const)[i % 3] })))
    await mem.close()
  }, plain)
  await context.close() // the whole browser goes away
  context = await launch()
  page = await context.newPage()
  await ready(page)
  const result = await page.evaluate(async (options) => {
    const mem = await window.tiermem.openMemory({ name: 'restart', ...options })
    const values = await mem.getMany(Array.from({ length: 90 }, (_, i) => `r${i}`))
    const cold = (await mem.getEntry('r2'))?.tier
    await mem.close()
    return { ok: values.every((v, i) => (v as { i: number }).i === i), cold }
  }, plain)
  expect(result).toEqual({ ok: true, cold: 'cold' })
  await context.close()
})

const edgeLike = { maintenanceIntervalMs: 0 }

test('a backup taken in the browser restores into the edge (a Durable Object in workerd) and back', async ({ page }) => {
  await ready(page)
  const mf = startWorkerd(await bundleTestWorker())
  try {
    // In the browser: entries in every tier, backed up as the user downloads it.
    const fromBrowser = await page.evaluate(async (options) => {
      const mem = await window.tiermem.openMemory({ name: 'to-the-edge', ...options })
      await mem.putMany(
        Array.from({ length: 30 }, (_, i) => ({
          key: `e${i}`,
          value: { i, text: `memory ${i} `.repeat(i * 20) },
          tier: (['hot', 'warm', 'cold'] as const)[i % 3],
          tags: [`t${i % 4}`],
          // A layer every memory has: a restore refuses records of layers the target lacks.
          layer: 'assets',
        })),
      )
      const zip = new Uint8Array(await new Response(await mem.backup()).arrayBuffer())
      await mem.close()
      return Array.from(zip)
    }, edgeLike)
    const admin = { authorization: 'Bearer token-admin-all' }
    const restored = await mf.dispatchFetch('http://edge.test/v1/from-browser/restore', { method: 'POST', headers: admin, body: new Uint8Array(fromBrowser) })
    expect(await restored.json()).toEqual({ restored: 30 })
    expect(await (await mf.dispatchFetch('http://edge.test/v1/from-browser/entries/e7', { headers: admin })).json()).toMatchObject({
      value: { i: 7, text: 'memory 7 '.repeat(140) },
      entry: { tags: ['t3'] },
    })
    // And back: the edge's backup restores into a fresh browser memory.
    const fromEdge = new Uint8Array(await (await mf.dispatchFetch('http://edge.test/v1/from-browser/backup', { headers: admin })).arrayBuffer())
    const back = await page.evaluate(
      async ({ options, bytes }) => {
        const mem = await window.tiermem.openMemory({ name: 'from-the-edge', ...options })
        const result = await mem.restoreBackup(new Uint8Array(bytes))
        const values = await mem.getMany(Array.from({ length: 30 }, (_, i) => `e${i}`))
        const tags = (await mem.getEntry('e9'))?.tags
        await mem.close()
        return { restored: result.restored, ok: values.every((v, i) => (v as { i: number; text: string }).text === `memory ${i} `.repeat(i * 20)), tags }
      },
      { options: edgeLike, bytes: Array.from(fromEdge) },
    )
    expect(back).toEqual({ restored: 30, ok: true, tags: ['t1'] })
  } finally {
    await mf.dispose()
  }
})

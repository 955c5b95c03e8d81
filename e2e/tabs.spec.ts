/**
 * Several tabs, one memory: pages of one browser context open the same name; one leads, the
 * others forward to it. The leader goes away mid-write (closed, crashed): no acknowledged write
 * is lost or doubled, and every page reads every acknowledged write.
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test'

const kept = { maintenanceIntervalMs: 0, policy: { defaultLayer: 'keep', layers: { keep: { eviction: 'lru_with_importance' as const } } } }

async function openPage(context: BrowserContext, name: string): Promise<Page> {
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(String(e)))
  await page.goto('/')
  await expect(page.locator('#status')).toHaveText('ready')
  const role = await page.evaluate(
    async ({ name, options }) => {
      const w = window as unknown as { mem: Awaited<ReturnType<typeof window.tiermem.openMemory>> }
      w.mem = await window.tiermem.openMemory({ name, ...options })
      return w.mem.role
    },
    { name, options: kept },
  )
  expect(errors).toEqual([])
  ;(page as Page & { role?: string }).role = role
  return page
}

const roleOf = (page: Page) => page.evaluate(() => (window as unknown as { mem: { role: string } }).mem.role)

test('a second tab follows the first: calls both ways, events in every tab', async ({ context }) => {
  const first = await openPage(context, 'two-tabs')
  const second = await openPage(context, 'two-tabs')
  expect([await roleOf(first), await roleOf(second)]).toEqual(['leader', 'follower'])
  await second.evaluate(() => (window as unknown as { mem: { put(k: string, v: unknown): Promise<unknown> } }).mem.put('from-follower', { n: 2 }))
  await first.evaluate(() => (window as unknown as { mem: { put(k: string, v: unknown): Promise<unknown> } }).mem.put('from-leader', { n: 1 }))
  const read = (page: Page) =>
    page.evaluate(() => (window as unknown as { mem: { getMany(k: string[]): Promise<unknown[]> } }).mem.getMany(['from-leader', 'from-follower']))
  expect(await read(first)).toEqual([{ n: 1 }, { n: 2 }])
  expect(await read(second)).toEqual([{ n: 1 }, { n: 2 }])
  // An event raised by the leader's engine reaches the follower's handler.
  await second.evaluate(() => {
    const w = window as unknown as { mem: { on(e: string, h: (p: { key: string }) => void): Promise<unknown> }; seen: string[] }
    w.seen = []
    return w.mem.on('evicted', (e) => w.seen.push(e.key))
  })
  await first.evaluate(() => (window as unknown as { mem: { evict(k: string): Promise<void> } }).mem.evict('from-leader'))
  await expect.poll(() => second.evaluate(() => (window as unknown as { seen: string[] }).seen)).toEqual(['from-leader'])
})

test('four tabs writing at once: every write lands once and every tab reads them all', async ({ context }) => {
  const pages = [] as Page[]
  for (let i = 0; i < 4; i++) pages.push(await openPage(context, 'four-tabs'))
  expect(await Promise.all(pages.map(roleOf))).toEqual(['leader', 'follower', 'follower', 'follower'])
  await Promise.all(
    pages.map((page, p) =>
      page.evaluate(
        (p) =>
          Promise.all(
            Array.from({ length: 200 }, (_, i) =>
              (window as unknown as { mem: { put(k: string, v: unknown): Promise<unknown> } }).mem.put(`p${p}-${i}`, { p, i }),
            ),
          ),
        p,
      ),
    ),
  )
  const keys = Array.from({ length: 4 }, (_, p) => Array.from({ length: 200 }, (_, i) => `p${p}-${i}`)).flat()
  for (const page of pages) {
    const got = await page.evaluate(async (keys) => {
      const mem = (
        window as unknown as { mem: { getMany(k: string[]): Promise<Array<{ p: number; i: number } | undefined>>; query(f: object): Promise<unknown[]> } }
      ).mem
      const values = await mem.getMany(keys)
      return { missing: values.filter((v) => v === undefined).length, entries: (await mem.query({})).length }
    }, keys)
    expect(got).toEqual({ missing: 0, entries: 800 })
  }
})

// 'closed': the leader's page calls close() on its memory and stays; 'gone': its tab is closed
// without unload handlers (a crash, as far as the other tabs can tell). Killing the renderer is
// not possible here: tabs of one site share it, so it would take every tab down with it.
for (const how of ['closed', 'gone'] as const) {
  test(`the leader tab ${how} mid-write: a follower takes over, nothing acknowledged is lost or doubled`, async ({ context }) => {
    const pages = [] as Page[]
    for (let i = 0; i < 3; i++) pages.push(await openPage(context, `leader-${how}`))
    const [leader, ...followers] = pages as [Page, ...Page[]]
    // Each follower writes without pause and records what was acknowledged.
    for (const [f, page] of followers.entries()) {
      void page.evaluate((f) => {
        const w = window as unknown as { mem: { put(k: string, v: unknown): Promise<unknown> }; acked: string[]; failed: string[]; stop: boolean }
        w.acked = []
        w.failed = []
        w.stop = false
        void (async () => {
          for (let i = 0; !w.stop; i++) {
            const key = `f${f}-${i}`
            try {
              await w.mem.put(key, { f, i })
              w.acked.push(key)
            } catch (error) {
              w.failed.push(`${key}: ${(error as Error).message}`)
            }
          }
        })()
      }, f)
    }
    await expect.poll(() => followers[0]!.evaluate(() => (window as unknown as { acked: string[] }).acked.length)).toBeGreaterThan(50)
    const started = Date.now()
    if (how === 'gone') await leader.close({ runBeforeUnload: false })
    else await leader.evaluate(() => (window as unknown as { mem: { close(): Promise<void> } }).mem.close())
    // A follower leads now, and writes go on.
    await expect.poll(async () => (await Promise.all(followers.map(roleOf))).sort(), { timeout: 15_000 }).toEqual(['follower', 'leader'])
    const countNow = await followers[0]!.evaluate(() => (window as unknown as { acked: string[] }).acked.length)
    await expect
      .poll(() => followers[0]!.evaluate(() => (window as unknown as { acked: string[] }).acked.length), { timeout: 15_000 })
      .toBeGreaterThan(countNow + 20)
    const handover = Date.now() - started
    const acked: string[] = []
    for (const page of followers) {
      acked.push(
        ...(await page.evaluate(() => {
          const w = window as unknown as { acked: string[]; failed: string[]; stop: boolean }
          w.stop = true
          return w.acked
        })),
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
    for (const page of followers) {
      const result = await page.evaluate(async (acked) => {
        const w = window as unknown as {
          mem: { getMany(k: string[]): Promise<Array<{ f: number; i: number } | undefined>>; query(f: object): Promise<Array<{ key: string }>> }
          failed: string[]
        }
        const values = await w.mem.getMany(acked)
        const keys = (await w.mem.query({})).map((e) => e.key)
        return {
          lost: acked.filter((key, i) => values[i] === undefined || `f${values[i]!.f}-${values[i]!.i}` !== key),
          doubled: keys.length - new Set(keys).size,
          failed: w.failed,
        }
      }, acked)
      expect(result.lost).toEqual([])
      expect(result.doubled).toBe(0)
      expect(result.failed).toEqual([])
    }
    console.log(`leader ${how}: writes went on in a new leader after ${handover} ms`)
  })
}

test('a leading tab told it is being frozen steps down: a follower leads, and the thawed tab follows it', async ({ context }) => {
  // The Page Lifecycle 'freeze' event, dispatched by hand: Chromium here does not freeze a page
  // on CDP's Page.setWebLifecycleState (its timers keep running and no event comes), so this
  // checks what the tab does when the event comes, not that Chromium sends it. Tried on
  // Chromium 156 without success: headless; focus emulation turned off; a tab opened in the
  // background; headful under Xvfb with its window minimized; Playwright's switches against
  // backgrounding left out.
  const leader = await openPage(context, 'frozen-leader')
  const follower = await openPage(context, 'frozen-leader')
  const put = (page: Page, key: string) =>
    page.evaluate((key) => (window as unknown as { mem: { put(k: string, v: unknown): Promise<unknown> } }).mem.put(key, { key }), key)
  await put(leader, 'before')
  await leader.evaluate(() => document.dispatchEvent(new Event('freeze')))
  expect(await roleOf(leader)).toBe('follower')
  await expect.poll(() => roleOf(follower), { timeout: 15_000 }).toBe('leader')
  await put(follower, 'after')
  await put(leader, 'from-the-thawed-tab')
  const read = (page: Page) =>
    page.evaluate(() => (window as unknown as { mem: { getMany(k: string[]): Promise<unknown[]> } }).mem.getMany(['before', 'after', 'from-the-thawed-tab']))
  const all = [{ key: 'before' }, { key: 'after' }, { key: 'from-the-thawed-tab' }]
  expect(await read(leader)).toEqual(all)
  expect(await read(follower)).toEqual(all)
})

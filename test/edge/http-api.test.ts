import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Miniflare } from 'miniflare'
import { createMemory } from '../../src/core/api/open-engine.ts'
import { bundleTestWorker, startWorkerd, TEST_TOKENS } from './cloudflare/workerd.ts'
import { startDenoHost, type DenoHost } from './deno/deno-host.ts'

/**
 * The HTTP API of API.md, the same suite against both variants: the Worker + Durable Object in
 * workerd, and the Deno server. Every status of API.md's table, tokens of other namespaces, and
 * bodies that are oversized or malformed.
 */
type Fetch = (path: string, init?: RequestInit) => Promise<Response>

const LIMIT = 1024 * 1024
let mf: Miniflare
let deno: DenoHost
const platforms: Record<string, Fetch> = {}
beforeAll(async () => {
  ;[mf, deno] = await Promise.all([
    bundleTestWorker().then((script) => startWorkerd(script, { bindings: { TIERMEM_MAX_BODY_BYTES: String(LIMIT) } })),
    startDenoHost({ tokens: TEST_TOKENS, maxBodyBytes: LIMIT }),
  ])
  platforms['cloudflare'] = (path, init) => mf.dispatchFetch(`http://edge.test${path}`, init as never) as unknown as Promise<Response>
  platforms['deno'] = (path, init) => fetch(`${deno.url}${path}`, init)
}, 90_000)
afterAll(async () => {
  await Promise.all([mf?.dispose(), deno?.stop()])
})

const agent1 = { authorization: 'Bearer token-agent-1' }
const admin = { authorization: 'Bearer token-admin-all' }
const json = (body: unknown) => ({ body: JSON.stringify(body), headers: { ...agent1, 'content-type': 'application/json' } })
const entry = (key: string) => `/v1/agent-1/entries/${encodeURIComponent(key)}`
const errorOf = async (response: Response) => ({ status: response.status, code: ((await response.json()) as { error: { code: string } }).error.code })

describe.each(['cloudflare', 'deno'])('HTTP API on %s', (platform) => {
  const call: Fetch = (path, init) => platforms[platform]!(path, init)

  it('puts, reads, queries, recalls, reports and deletes entries', async () => {
    const key = `notes/2026 ü?#${platform}`
    const put = await call(entry(key), {
      method: 'PUT',
      ...json({ value: { text: 'hello', n: 1 }, options: { type: 'fact', tags: ['t'], vector: [1, 0, 0, 0] } }),
    })
    expect(put.status).toBe(200)
    expect(await put.json()).toMatchObject({ key, type: 'fact', tags: ['t'] })
    await call(entry('other'), { method: 'PUT', ...json({ value: 'x', options: { vector: [0, 1, 0, 0] } }) })

    const got = await call(entry(key), { headers: agent1 })
    expect(got.status).toBe(200)
    expect(await got.json()).toMatchObject({ value: { text: 'hello', n: 1 }, entry: { key, accessCount: 1 } })

    const query = await call('/v1/agent-1/query', { method: 'POST', ...json({ type: 'fact' }) })
    expect(((await query.json()) as { entries: Array<{ key: string }> }).entries.map((e) => e.key)).toEqual([key])
    const recall = await call('/v1/agent-1/recall', { method: 'POST', ...json({ query: [0.9, 0.1, 0, 0], k: 1 }) })
    expect(((await recall.json()) as { results: Array<{ key: string; score: number }> }).results.map((r) => r.key)).toEqual([key])
    const stats = (await (await call('/v1/agent-1/stats', { headers: agent1 })).json()) as { tiers: Record<string, { count: number }> }
    expect(stats.tiers['hot']!.count + stats.tiers['warm']!.count + stats.tiers['cold']!.count).toBeGreaterThanOrEqual(2)

    expect(await (await call(entry(key), { method: 'DELETE', headers: agent1 })).json()).toEqual({ deleted: true })
    expect(await (await call(entry(key), { method: 'DELETE', headers: agent1 })).json()).toEqual({ deleted: false })
    expect(await errorOf(await call(entry(key), { headers: agent1 }))).toEqual({ status: 404, code: 'NOT_FOUND' })
  })

  it('answers 401 without a known token and 403 for another namespace’s token', async () => {
    expect(await errorOf(await call(entry('a')))).toEqual({ status: 401, code: 'UNAUTHORIZED' })
    expect(await errorOf(await call(entry('a'), { headers: { authorization: 'Bearer not-a-token-at-all' } }))).toEqual({ status: 401, code: 'UNAUTHORIZED' })
    expect(await errorOf(await call(entry('a'), { headers: { authorization: 'Basic dXNlcjpwYXNz' } }))).toEqual({ status: 401, code: 'UNAUTHORIZED' })
    const otherToken = { authorization: 'Bearer token-agent-2' }
    expect(await errorOf(await call(entry('a'), { method: 'PUT', headers: otherToken, body: '{"value":1}' }))).toEqual({ status: 403, code: 'FORBIDDEN' })
    expect(await errorOf(await call('/v1/agent-1/backup', { headers: otherToken }))).toEqual({ status: 403, code: 'FORBIDDEN' })
    // The refused put wrote nothing; the '*' token reaches every namespace.
    expect(await errorOf(await call(entry('a'), { headers: admin }))).toEqual({ status: 404, code: 'NOT_FOUND' })
  })

  it('refuses bad input with 400 and its code, 404 and 405 for what is not served, and changes nothing', async () => {
    await call(entry('kept'), { method: 'PUT', ...json({ value: 'kept' }) })
    const before = await (await call('/v1/agent-1/query', { method: 'POST', ...json({}) })).json()
    const cases: Array<[string, RequestInit, number, string]> = [
      [entry('k'), { method: 'PUT', headers: agent1, body: '{"value": ' }, 400, 'BAD_REQUEST'],
      [entry('k'), { method: 'PUT', headers: agent1, body: '\u00ff\u00fe' }, 400, 'BAD_REQUEST'],
      [entry('k'), { method: 'PUT', ...json({ valu: 1 }) }, 400, 'INVALID_VALUE'],
      [entry('k'), { method: 'PUT', ...json({ value: 1, options: { importance: 2 } }) }, 400, 'INVALID_OPTION'],
      [entry('k'), { method: 'PUT', ...json({ value: 1, options: 'fact' }) }, 400, 'INVALID_OPTION'],
      [entry('kept'), { method: 'PUT', ...json({ value: 1, options: { tier: 'lukewarm' } }) }, 400, 'INVALID_OPTION'],
      [entry('x'.repeat(1025)), { method: 'PUT', ...json({ value: 1 }) }, 400, 'INVALID_KEY'],
      ['/v1/agent-1/entries/%E0%A4%A', { headers: agent1 }, 400, 'INVALID_KEY'],
      ['/v1/agent-1/entries/', { headers: agent1 }, 400, 'INVALID_KEY'],
      ['/v1/bad%20space/stats', { headers: admin }, 400, 'INVALID_OPTION'],
      ['/v1/agent-1/recall', { method: 'POST', ...json({ query: { not: 'a query' } }) }, 400, 'INVALID_OPTION'],
      ['/v1/agent-1/recall', { method: 'POST', ...json({ query: [1, 'a'] }) }, 400, 'INVALID_OPTION'],
      ['/v1/agent-1/recall', { method: 'POST', ...json({ query: [1, 0] }) }, 400, 'DIMENSION_MISMATCH'],
      ['/v1/agent-1/query', { method: 'POST', ...json([1, 2]) }, 400, 'INVALID_OPTION'],
      ['/v1/agent-1/restore', { method: 'POST', headers: agent1, body: new Uint8Array([80, 75, 3, 4, 1, 2, 3]) }, 400, 'BACKUP_INVALID'],
      ['/v1/agent-1/restore?mode=bogus', { method: 'POST', headers: agent1, body: new Uint8Array(10) }, 400, 'INVALID_OPTION'],
      ['/v1/agent-1/nothing', { headers: agent1 }, 404, 'NOT_FOUND'],
      ['/v2/agent-1/stats', { headers: agent1 }, 404, 'NOT_FOUND'],
      ['/v1/agent-1/stats', { method: 'POST', headers: agent1 }, 405, 'METHOD_NOT_ALLOWED'],
      [entry('k'), { method: 'PATCH', headers: agent1, body: '{}' }, 405, 'METHOD_NOT_ALLOWED'],
    ]
    for (const [path, init, status, code] of cases) {
      expect({ path: path.slice(0, 60), ...(await errorOf(await call(path, init))) }).toEqual({ path: path.slice(0, 60), status, code })
    }
    expect(await (await call('/v1/agent-1/query', { method: 'POST', ...json({}) })).json()).toEqual(before)
    expect(await (await call(entry('kept'), { headers: agent1 })).json()).toMatchObject({ value: 'kept' })
  })

  it('answers 413 for a body over the limit, declared or streamed, and stores nothing of it', async () => {
    const big = JSON.stringify({ value: 'x'.repeat(LIMIT + 10) })
    expect(await errorOf(await call(entry('huge'), { method: 'PUT', headers: agent1, body: big }))).toEqual({ status: 413, code: 'TOO_LARGE' })
    // No length declared: the server counts while it reads.
    const bytes = new TextEncoder().encode(big)
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < bytes.byteLength; at += 64 * 1024) controller.enqueue(bytes.slice(at, at + 64 * 1024))
        controller.close()
      },
    })
    const streamed = await call(entry('huge'), { method: 'PUT', headers: agent1, body: stream, duplex: 'half' } as RequestInit)
    expect(await errorOf(streamed)).toEqual({ status: 413, code: 'TOO_LARGE' })
    expect((await call(entry('huge'), { headers: agent1 })).status).toBe(404)
  })

  it('backs a namespace up as a zip and restores it into another, merged or replacing', async () => {
    const big = 'v'.repeat(300 * 1024)
    for (const [key, value] of [
      ['b1', { n: 1 }],
      ['b2', big],
      ['b3', [1, 2, 3]],
    ] as const) {
      expect((await call(`/v1/agent-1/entries/${key}`, { method: 'PUT', ...json({ value }) })).status).toBe(200)
    }
    const backup = await call('/v1/agent-1/backup', { headers: agent1 })
    expect(backup.status).toBe(200)
    expect(backup.headers.get('content-type')).toBe('application/zip')
    const zip = new Uint8Array(await backup.arrayBuffer())

    const target = `/v1/restore-${platform}`
    await call(`${target}/entries/stays`, { method: 'PUT', headers: admin, body: '{"value":"here before"}' })
    const restored = await call(`${target}/restore`, { method: 'POST', headers: admin, body: zip })
    expect(restored.status).toBe(200)
    const count = ((await restored.json()) as { restored: number }).restored
    expect(count).toBeGreaterThanOrEqual(3)
    expect(await (await call(`${target}/entries/b2`, { headers: admin })).json()).toMatchObject({ value: big })
    expect(await (await call(`${target}/entries/b1`, { headers: admin })).json()).toMatchObject({ value: { n: 1 } })
    expect((await call(`${target}/entries/stays`, { headers: admin })).status).toBe(200)

    expect((await call(`${target}/restore?mode=replace`, { method: 'POST', headers: admin, body: zip })).status).toBe(200)
    expect((await call(`${target}/entries/stays`, { headers: admin })).status).toBe(404)
    expect(await (await call(`${target}/entries/b3`, { headers: admin })).json()).toMatchObject({ value: [1, 2, 3] })
  })
})

describe('one backup format everywhere', () => {
  it('carries a memory from Node to the Durable Object, on to Deno, and back, value for value', async () => {
    const source = await createMemory()
    const values: Record<string, unknown> = { text: 'plain', nested: { a: [1, 2, { b: null }] }, bytes: 'z'.repeat(200_000), unicode: 'ü ✓ 🙂' }
    for (const [key, value] of Object.entries(values)) await source.put(key, value, { type: 'fact', tags: [key] })
    const zip = new Uint8Array(await new Response(await source.backup()).arrayBuffer())

    const cloudflare = platforms['cloudflare']!
    expect((await cloudflare('/v1/roundtrip/restore', { method: 'POST', headers: admin, body: zip })).status).toBe(200)
    const fromCloudflare = new Uint8Array(await (await cloudflare('/v1/roundtrip/backup', { headers: admin })).arrayBuffer())
    const denoCall = platforms['deno']!
    expect((await denoCall('/v1/roundtrip/restore', { method: 'POST', headers: admin, body: fromCloudflare })).status).toBe(200)
    const fromDeno = new Uint8Array(await (await denoCall('/v1/roundtrip/backup', { headers: admin })).arrayBuffer())

    const back = await createMemory()
    await back.restoreBackup(fromDeno)
    for (const [key, value] of Object.entries(values)) {
      expect(await back.get(key)).toEqual(value)
      expect((await back.getEntry(key))?.tags).toEqual([key])
    }
    await Promise.all([source.close(), back.close()])
  })
})

import { describe, expect, it } from 'vitest'
import { createMemory } from '../../src/core/api/open-engine.ts'
import { TiermemError } from '../../src/core/api/errors.ts'
import { memoryStore } from '../../src/core/store/memory-store.ts'
import type { Store } from '../../src/core/store/store.ts'
import { routeOf, serveMemory } from '../../src/edge/http-api.ts'
import { parseTokens } from '../../src/edge/tokens.ts'
import { createHandler } from '../../src/edge/cloudflare/handler.ts'

/** The pieces of the HTTP layer that need no runtime: tokens, routes, error statuses, the Worker's router. */
describe('tokens', () => {
  it('reads a JSON map of token → namespace and refuses anything else whole', () => {
    expect([...parseTokens('{"secret-token-1":"agent-1","admin-token-x":"*"}')]).toEqual([
      ['secret-token-1', 'agent-1'],
      ['admin-token-x', '*'],
    ])
    for (const bad of [undefined, '', 'not json', '[]', '"x"', '{"short":"a"}', '{"long-enough-token":"bad space"}', '{"long-enough-token":3}']) {
      expect(() => parseTokens(bad)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }) as Error)
    }
  })
})

describe('routes', () => {
  const route = (path: string) => routeOf(new URL(`http://h${path}`))
  it('names the namespace, the resource and the decoded key', () => {
    expect(route('/v1/agent-1/entries/a%2Fb%20c')).toEqual({ namespace: 'agent-1', resource: 'entries', key: 'a/b c' })
    expect(route('/v1/agent-1/stats')).toEqual({ namespace: 'agent-1', resource: 'stats' })
    expect(route('/v1/agent-1/stats/extra')).toBeUndefined()
    expect(route('/v1/agent-1')).toBeUndefined()
    expect(() => route('/v1/..%2F/stats')).toThrow(expect.objectContaining({ status: 400 }) as Error)
  })
})

/** A store that refuses writes for quota once `full` is set, as a platform does. */
function fillingStore(): Store & { full: boolean } {
  const inner = memoryStore()
  const store = Object.assign(Object.create(null) as object, inner, { full: false }) as Store & { full: boolean }
  store.batch = async (ops, options) => {
    if (store.full) throw new TiermemError('QUOTA_EXCEEDED', 'the platform refused the write for quota')
    return inner.batch(ops, options)
  }
  return store
}

describe('serveMemory statuses', () => {
  const request = (method: string, path: string, body?: string) => new Request(`http://h${path}`, { method, ...(body ? { body } : {}) })
  const serve = async (memory: Awaited<ReturnType<typeof createMemory>>, method: string, path: string, body?: string) => {
    const req = request(method, path, body)
    return serveMemory(memory, req, routeOf(new URL(req.url))!)
  }

  it('answers 507 QUOTA_EXCEEDED when storage is full, and the entry before it stays', async () => {
    const warm = fillingStore()
    const memory = await createMemory({ stores: { warm, cold: memoryStore() }, maintenanceIntervalMs: 0 })
    expect((await serve(memory, 'PUT', '/v1/a/entries/kept', '{"value":"kept"}')).status).toBe(200)
    warm.full = true
    const refused = await serve(memory, 'PUT', '/v1/a/entries/new', '{"value":"x"}')
    expect(refused.status).toBe(507)
    expect(await refused.json()).toMatchObject({ error: { code: 'QUOTA_EXCEEDED' } })
    warm.full = false
    expect(await (await serve(memory, 'GET', '/v1/a/entries/kept')).json()).toMatchObject({ value: 'kept' })
    expect((await serve(memory, 'GET', '/v1/a/entries/new')).status).toBe(404)
    await memory.close()
  })

  it('answers 500 INTERNAL for an unexpected failure without its internals, and 503 once closed', async () => {
    const memory = await createMemory({ maintenanceIntervalMs: 0 })
    const broken = { ...memory, stats: () => Promise.reject(new Error('secret path /srv/x')) }
    const original = console.error
    console.error = () => undefined
    try {
      const response = await serve(broken, 'GET', '/v1/a/stats')
      expect(response.status).toBe(500)
      expect(JSON.stringify(await response.json())).not.toContain('secret')
    } finally {
      console.error = original
    }
    await memory.close()
    expect(await (await serve(memory, 'GET', '/v1/a/entries/x')).json()).toMatchObject({ error: { code: 'CLOSED' } })
  })
})

describe('the Worker router', () => {
  const handler = createHandler()
  const forwarded: string[] = []
  const binding = {
    idFromName: (name: string) => `id:${name}`,
    get: (id: unknown) => ({ fetch: async () => (forwarded.push(String(id)), new Response('{"ok":true}')) }),
  }
  const env = (tokens?: string) => ({ TIERMEM: binding, ...(tokens === undefined ? {} : { TIERMEM_TOKENS: tokens }), TIERMEM_MAX_BODY_BYTES: '100' })
  const call = (path: string, init: RequestInit, tokens = '{"token-agent-1":"agent-1"}') => handler.fetch(new Request(`http://h${path}`, init), env(tokens))

  it('forwards an authorized request to the namespace’s object and wakes none for a refused one', async () => {
    expect((await call('/v1/agent-1/stats', { headers: { authorization: 'Bearer token-agent-1' } })).status).toBe(200)
    expect(forwarded).toEqual(['id:agent-1'])
    expect((await call('/v1/agent-2/stats', { headers: { authorization: 'Bearer token-agent-1' } })).status).toBe(403)
    expect((await call('/v1/agent-1/stats', {})).status).toBe(401)
    const big = await call('/v1/agent-1/entries/k', {
      method: 'PUT',
      headers: { authorization: 'Bearer token-agent-1', 'content-length': '1000' },
      body: 'x'.repeat(1000),
    })
    expect(big.status).toBe(413)
    expect(forwarded).toEqual(['id:agent-1'])
  })

  it('answers 500 saying what to fix when the tokens secret is missing or broken', async () => {
    for (const tokens of [undefined, '{oops']) {
      const response = await handler.fetch(new Request('http://h/v1/a/stats', { headers: { authorization: 'Bearer whatever-token' } }), env(tokens) as never)
      expect(response.status).toBe(500)
      expect(((await response.json()) as { error: { message: string } }).error.message).toContain('TIERMEM_TOKENS')
    }
  })
})

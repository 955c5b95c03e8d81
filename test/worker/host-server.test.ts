import { MessageChannel } from 'node:worker_threads'
import type { Endpoint } from 'comlink'
import { describe, expect, it } from 'vitest'
import { connectMemory, type RemoteMemory } from '../../src/client/connect.ts'
import { memoryStore, memoryStoreData } from '../../src/core/store/memory-store.ts'
import { createHostServer } from '../../src/hosts/memory-host.ts'

const plain = { maintenanceIntervalMs: 0, policy: { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' as const } } } }

/** One host server over in-memory stores whose close() is counted, and a way to connect pages to it. */
function setup() {
  const warm = memoryStoreData()
  let storeCloses = 0
  const counted = () => {
    const store = memoryStore({ data: warm })
    return { ...store, close: () => (storeCloses++, store.close()) }
  }
  const server = createHostServer(async () => ({ warm: counted(), cold: memoryStore() }))
  const connect = (name = 'shared', serve = (endpoint: Endpoint) => server.serve(endpoint)): Promise<RemoteMemory> => {
    const { port1, port2 } = new MessageChannel()
    serve(port1 as unknown as Endpoint)
    return connectMemory(port2 as unknown as Endpoint, { name, ...plain, dispose: () => (port1.close(), port2.close()) })
  }
  return { server, connect, storeCloses: () => storeCloses }
}

describe('one engine served to several connections', () => {
  it('shares one memory; closing one connection leaves the engine open for the others, the last one closes it', async () => {
    const { server, connect, storeCloses } = setup()
    const a = await connect()
    const b = await connect()
    expect(server.connections).toBe(2)
    await a.put('k', 'from a')
    expect(await b.get('k')).toBe('from a')
    await a.close()
    expect(server.connections).toBe(1)
    expect(storeCloses()).toBe(0)
    await b.put('k2', 'from b')
    expect(await b.getMany(['k', 'k2'])).toEqual(['from a', 'from b'])
    await b.close()
    expect(server.connections).toBe(0)
    expect(storeCloses()).toBe(1)
    // A new connection opens the engine again, over what was stored.
    const c = await connect()
    expect(await c.get('k2')).toBe('from b')
    await c.close()
  })

  it('keeps each connection’s scopes and events its own', async () => {
    const { connect } = setup()
    const a = await connect()
    const b = await connect()
    const seenByA: string[] = []
    await a.on('evicted', (e) => seenByA.push(`${e.key}:${e.reason}`))
    const scopeA = await a.openScope('task-a')
    const scopeB = await b.openScope('task-b')
    await scopeA.put('x', 1)
    await scopeB.put('y', 2)
    // A hears what B does while A is open.
    await b.put('z', 0)
    await b.delete('z')
    await new Promise((resolve) => setTimeout(resolve, 10))
    // Closing a connection releases its own scopes, as their close would, and no other.
    await a.close()
    expect(await b.has('task-a:x')).toBe(false)
    expect(await b.get('task-b:y')).toBe(2)
    await scopeB.close()
    expect(await b.has('task-b:y')).toBe(false)
    // A's subscriptions ended when it closed: it heard B's delete, and nothing of the releases after.
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(seenByA).toEqual(['z:manual'])
    await b.close()
  })

  it('refuses a connection that asks for another memory than the one served', async () => {
    const { connect } = setup()
    const a = await connect('shared')
    await expect(connect('other')).rejects.toMatchObject({ code: 'INVALID_OPTION', message: expect.stringMatching(/serves the memory 'shared'/) })
    await a.close()
  })

  it('serves a port handed over an existing connection (how another tab joins)', async () => {
    const { server, connect } = setup()
    const a = await connect()
    const b = await connect('shared', (endpoint) => server.connection().connect(endpoint as unknown as MessagePort))
    await b.put('via', 'handed-over port')
    expect(await a.get('via')).toBe('handed-over port')
    await b.close()
    await a.close()
  })
})

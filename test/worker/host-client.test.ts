import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { MessageChannel } from 'node:worker_threads'
import { afterEach, describe, expect, it } from 'vitest'
import { connectMemory, type RemoteMemory } from '../../src/client/connect.ts'
import { TiermemError } from '../../src/core/api/errors.ts'
import { memoryStore } from '../../src/core/store/memory-store.ts'
import { exposeMemoryHost } from '../../src/hosts/memory-host.ts'
import { expose, type Endpoint } from 'comlink'

const opened: RemoteMemory[] = []
afterEach(async () => {
  for (const mem of opened.splice(0)) await mem.close()
})

/** Calls the page sent, by method name (comlink puts the path in each message). */
const sent: string[] = []
/** Bytes of the buffers each call's message carried (a clone copies a view's whole buffer), by method name. */
const sentBytes: Array<[string, number]> = []

/** The bytes of every distinct buffer reachable from a message. */
function bufferBytes(value: unknown, seen = new Set<ArrayBufferLike>()): number {
  if (ArrayBuffer.isView(value)) value = value.buffer
  if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && value instanceof SharedArrayBuffer)) {
    if (seen.has(value)) return 0
    seen.add(value)
    return value.byteLength
  }
  if (typeof value !== 'object' || value === null) return 0
  let bytes = 0
  for (const child of value instanceof Map ? value.values() : Object.values(value)) bytes += bufferBytes(child, seen)
  return bytes
}

async function connect(options: Parameters<typeof connectMemory>[1] = { name: 't' }): Promise<RemoteMemory> {
  const { port1, port2 } = new MessageChannel()
  const post = port2.postMessage.bind(port2)
  port2.postMessage = ((message: { path?: string[] }, transfer?: never) => {
    if (message?.path?.length) {
      sent.push(message.path.join('.'))
      sentBytes.push([message.path.join('.'), bufferBytes(message)])
    }
    return post(message, transfer)
  }) as typeof port2.postMessage
  exposeMemoryHost(port1 as unknown as Endpoint, async () => ({ warm: memoryStore(), cold: memoryStore() }))
  const mem = await connectMemory(port2 as unknown as Endpoint, {
    maintenanceIntervalMs: 0,
    policy: { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' } } },
    ...options,
    dispose: () => {
      port1.close()
      port2.close()
    },
  })
  opened.push(mem)
  return mem
}

describe('the worker host and its client, over a MessageChannel', () => {
  it('round-trips values from every tier; reads of warm and cold travel as bytes', async () => {
    const mem = await connect()
    const value = { text: 'hi', when: new Date(3), tags: new Set(['a']), bytes: new Uint8Array([1, 2, 3]) }
    await mem.put('hot', value)
    await mem.put('warm', value, { tier: 'warm' })
    await mem.put('cold', value, { tier: 'cold' })
    expect(await mem.get('hot')).toEqual(value)
    expect(await mem.get('warm')).toEqual(value)
    expect(await mem.get('cold')).toEqual(value)
    expect(await mem.getMany(['cold', 'missing', 'hot'])).toEqual([value, undefined, value])
    expect(mem.coldBackend).toBe('memory')
  })

  it('never detaches the caller’s buffers', async () => {
    const mem = await connect()
    const bytes = new Uint8Array(100_000).fill(7)
    await mem.put('big', bytes)
    await mem.putMany([{ key: 'big2', value: bytes }])
    expect(bytes.byteLength).toBe(100_000)
    expect(await mem.get('big')).toEqual(bytes)
  })

  it('keeps TiermemError code, message and cause across the boundary', async () => {
    const mem = await connect()
    const error = await mem.put('', 1).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TiermemError)
    expect(error).toMatchObject({ code: 'INVALID_KEY', name: 'TiermemError' })
    await mem.put('k', 1)
    await mem.retain('k')
    await expect(mem.evict('k')).rejects.toMatchObject({ code: 'REF_HELD' })
    await expect(mem.put('k', 1, { importance: 5 })).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(mem.put('f', () => 1)).rejects.toMatchObject({ code: 'INVALID_VALUE' })
  })

  it('embed crosses the boundary: without an embedder in the worker it fails with EMBEDDER_MISSING', async () => {
    const mem = await connect()
    await expect(mem.embed(['hello'])).rejects.toMatchObject({ code: 'EMBEDDER_MISSING', name: 'TiermemError' })
    await expect(mem.embed('hello' as unknown as string[])).rejects.toMatchObject({ code: 'INVALID_VALUE' })
    expect((await mem.stats()).embeddings.cache).toEqual({ entries: 0, bytes: 0, hits: 0, misses: 0 })
  })

  it('put with a vector crosses the boundary and the vector is stored with the entry', async () => {
    const mem = await connect()
    await mem.put('doc', { caption: 'a cat' }, { vector: Float32Array.from([0.6, 0.8]) })
    await mem.putMany([{ key: 'doc2', value: 2, vector: Float32Array.from([1, 0]) }])
    expect(await mem.get('doc')).toEqual({ caption: 'a cat' })
    expect((await mem.stats()).layers['tiermem:embeddings']!.count).toBe(2)
    await expect(mem.put('doc3', 'x', { embed: true })).rejects.toMatchObject({ code: 'EMBEDDER_MISSING' })
    await expect(mem.put('doc4', 'x', { vector: Float32Array.from([1, 0, 0]) })).rejects.toMatchObject({ code: 'DIMENSION_MISMATCH' })
    // Recall crosses too: a Float32Array query, results with their entries.
    const hits = await mem.recall(Float32Array.from([0.6, 0.8]), { k: 1 })
    expect(hits).toMatchObject([{ key: 'doc', namespace: 'default', entry: { key: 'doc' } }])
    expect(hits[0]!.score).toBeCloseTo(1, 6)
    await expect(mem.recall('text', { k: 1 })).rejects.toMatchObject({ code: 'EMBEDDER_MISSING' })
    await expect(mem.recall(Float32Array.from([1, 0]), { nope: 1 } as never)).rejects.toMatchObject({ code: 'INVALID_OPTION' })
  })

  it('sends a vector cut from a bigger buffer as its own bytes, taken when the call is made', async () => {
    const mem = await connect()
    // One buffer of 1,000 vectors of 4 dims, as a model's batch output is; each call uses a slice of it.
    const batch = new Float32Array(4_000).map((_, i) => (i % 4 === Math.floor(i / 4) % 4 ? 1 : 0)) // vector i: axis i % 4
    const at = (i: number) => batch.subarray(i * 4, i * 4 + 4)
    sentBytes.length = 0
    const original = at(1).slice()
    const put = mem.put('one', 1, { vector: at(1) })
    // Reused in the same turn, before the turn's puts leave: the put keeps what it was given.
    at(1).fill(9)
    await put
    await mem.putMany([{ key: 'two', value: 2, vector: at(2) }])
    await mem.recall(at(2), { k: 1 })
    for (const [method, bytes] of sentBytes.filter(([m]) => ['putEach', 'putMany', 'recall'].includes(m))) {
      expect(bytes, method).toBeLessThan(1_000)
    }
    expect(sentBytes.map(([m]) => m)).toEqual(expect.arrayContaining(['putEach', 'putMany', 'recall']))
    const [hit] = await mem.recall(original, { k: 1 })
    expect(hit).toMatchObject({ key: 'one' })
    expect(hit!.score).toBeCloseTo(1, 6)
  })

  it('delivers events to on() handlers on the page', async () => {
    const mem = await connect()
    const seen: string[] = []
    const all: string[] = []
    let waiter: ((key: string) => void) | undefined
    await mem.on('evicted', (e) => {
      all.push(e.key)
      waiter?.(e.key)
    })
    const evictionOf = (key: string) => new Promise<void>((resolve) => (waiter = (k) => k === key && resolve()))
    const off = await mem.on('evicted', (e) => seen.push(`${e.key}:${e.reason}`))
    await mem.put('a', 1)
    let next = evictionOf('a')
    await mem.delete('a')
    await next
    expect(seen).toEqual(['a:manual'])
    off()
    // Events keep their order among themselves: once c's arrives, b's has been handled.
    await mem.putMany([
      { key: 'b', value: 1 },
      { key: 'c', value: 1 },
    ])
    next = evictionOf('c')
    await mem.delete('b')
    await mem.delete('c')
    await next
    expect(all).toEqual(['a', 'b', 'c'])
    expect(seen).toEqual(['a:manual'])
  })

  it('refuses an event name that does not exist, as the engine does', async () => {
    const mem = await connect()
    await expect(mem.on('evict' as 'evicted', () => {})).rejects.toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('evicted') })
    await expect(mem.on('evicted', 'log' as unknown as () => void)).rejects.toMatchObject({ code: 'INVALID_OPTION' })
  })

  it('runs task scopes, with await using, and forwards their abort', async () => {
    const mem = await connect({ name: 't', cold: { maxBytes: 1000 } })
    {
      await using scope = await mem.openScope('task')
      await scope.put('x', { n: 1 })
      expect(await scope.get('x')).toEqual({ n: 1 })
      expect(await mem.has('task:x')).toBe(true)
    }
    expect(await mem.has('task:x')).toBe(false)
    const doomed = await mem.openScope('doomed')
    const aborted = new Promise((resolve) => doomed.signal.addEventListener('abort', () => resolve(doomed.signal.reason)))
    await mem.put('pinned', 'x'.repeat(997), { tier: 'cold', evictable: false })
    expect(await aborted).toMatchObject({ code: 'QUOTA_EXCEEDED' })
  })

  it('sends puts issued in one turn as one message; each settles on its own', async () => {
    const mem = await connect()
    sent.length = 0
    const outcomes = await Promise.all(
      [mem.put('ok1', { n: 1 }), mem.put('', 'bad key'), mem.put('ok2', { n: 2 }, { importance: 2 }), mem.put('ok3', { n: 3 }, { tier: 'cold' })].map((p) =>
        p.then(
          (info) => info.key,
          (e: { code: string }) => e.code,
        ),
      ),
    )
    expect(outcomes).toEqual(['ok1', 'INVALID_KEY', 'INVALID_OPTION', 'ok3'])
    expect(sent.filter((m) => m === 'putEach')).toHaveLength(1)
    expect(await mem.getMany(['ok1', 'ok2', 'ok3'])).toEqual([{ n: 1 }, undefined, { n: 3 }])
  })

  it('a get issued right after an unawaited put sees it (read your writes across the boundary)', async () => {
    const mem = await connect()
    void mem.put('fresh', { v: 1 })
    expect(await mem.get('fresh')).toEqual({ v: 1 })
    void mem.put('fresh', { v: 2 })
    void mem.delete('fresh')
    expect(await mem.has('fresh')).toBe(false)
  })

  it('takes the value as it is when put() is called', async () => {
    const mem = await connect()
    const value = { n: 1 }
    const done = mem.put('snap', value)
    value.n = 2
    await done
    expect(await mem.get('snap')).toEqual({ n: 1 })
  })

  it('puts issued just before close() are committed, not refused', async () => {
    const { port1, port2 } = new MessageChannel()
    const { memoryStoreData } = await import('../../src/core/store/memory-store.ts')
    const warm = memoryStoreData()
    exposeMemoryHost(port1 as unknown as Endpoint, async () => ({ warm: memoryStore({ data: warm }), cold: memoryStore() }))
    const mem = await connectMemory(port2 as unknown as Endpoint, {
      name: 't',
      maintenanceIntervalMs: 0,
      policy: { defaultLayer: 'plain', layers: { plain: { eviction: 'lru_with_importance' } } },
    })
    const put = mem.put('last', { words: 'before closing' })
    await mem.close()
    await expect(put).resolves.toMatchObject({ key: 'last' })
    expect(warm.spaces.values.size).toBe(1)
    await expect(mem.put('after', 1)).rejects.toMatchObject({ code: 'CLOSED' })
    port1.close()
    port2.close()
  })

  it('refuses calls after close with CLOSED', async () => {
    const mem = await connect()
    await mem.close()
    await expect(mem.get('k')).rejects.toMatchObject({ code: 'CLOSED' })
    await expect(mem.on('evicted', () => {})).rejects.toMatchObject({ code: 'CLOSED' })
  })

  it('keeps nothing a call returned once the caller lets go of it', async () => {
    setFlagsFromString('--expose-gc')
    const collect = runInNewContext('gc') as () => void
    const mem = await connect()
    await mem.put('k', { text: 'a value the page reads' })
    const refs: Array<WeakRef<object>> = []
    for (let i = 0; i < 20; i++) refs.push(new WeakRef((await mem.get('k')) as object))
    refs.push(new WeakRef(await mem.getMany(['k'])))
    // A WeakRef keeps its target until the current job ends: collect from a later task.
    await new Promise((resolve) => setTimeout(resolve, 0))
    collect()
    expect(refs.filter((ref) => ref.deref() !== undefined)).toHaveLength(0)
  })
})

describe('errors that say the truth', () => {
  it('close() reports a failed final flush, as the in-process close does; the memory is closed either way', async () => {
    const failing = () => ({
      ...memoryStore(),
      close: async () => {
        throw new TiermemError('QUOTA_EXCEEDED', 'the final flush failed')
      },
    })
    const { port1, port2 } = new MessageChannel()
    exposeMemoryHost(port1 as unknown as Endpoint, async () => ({ warm: failing(), cold: memoryStore() }))
    const mem = await connectMemory(port2 as unknown as Endpoint, { name: 't', maintenanceIntervalMs: 0, dispose: () => (port1.close(), port2.close()) })
    await mem.put('k', 1)
    await expect(mem.close()).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED', message: 'the final flush failed' })
    await expect(mem.get('k')).rejects.toMatchObject({ code: 'CLOSED' })
  })

  it('a scope aborted for a reason the page has no code for is ABORTED, not a quota error', async () => {
    const { port1, port2 } = new MessageChannel()
    let sink: ((event: string, payload: unknown) => void) | undefined
    const host = {
      open: async () => ({ coldBackend: 'memory' }),
      setEventSink: (next: typeof sink) => void (sink = next),
      subscribe: async () => undefined,
      reportSignal: () => undefined,
      openScope: async (taskId: string) => ({ id: 1, taskId }),
      close: async () => undefined,
    }
    expose(host, port1 as unknown as Endpoint)
    const mem = await connectMemory(port2 as unknown as Endpoint, { name: 't', dispose: () => (port1.close(), port2.close()) })
    const scope = await mem.openScope('job')
    const aborted = new Promise((resolve) => scope.signal.addEventListener('abort', resolve))
    sink!('scopeAborted', { id: 1, code: 'SOMETHING_NEWER', message: 'stopped by a newer engine' })
    await aborted
    expect(scope.signal.reason).toMatchObject({ code: 'ABORTED', message: 'stopped by a newer engine' })
    await mem.close()
  })
})

describe('the Memory surface is defined once', () => {
  it('every method the table forwards reaches the engine through the client and the host', async () => {
    const { FORWARDED_METHODS, MEMORY_SURFACE } = await import('../../src/core/api/surface.ts')
    const mem = await connect()
    await mem.put('k', 1)
    for (const name of FORWARDED_METHODS) expect(typeof mem[name], name).toBe('function')
    // A forwarded method answers what the engine answers, errors with their codes included.
    expect(await mem.getEntry('k')).toMatchObject({ key: 'k', tier: 'hot' })
    expect(await mem.retain('k')).toBe(1)
    await expect(mem.evict('k')).rejects.toMatchObject({ code: 'REF_HELD' })
    await expect(mem.query({ tpye: 'x' } as never)).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    expect(Object.keys(MEMORY_SURFACE).sort()).toEqual(expect.arrayContaining([...FORWARDED_METHODS].sort()))
  })
})

describe('peek and clear through the worker', () => {
  it('peek counts no access; clear reports progress across the boundary and refuses a misspelt option on the page', async () => {
    const mem = await connect()
    await mem.putMany(Array.from({ length: 1500 }, (_, i) => ({ key: `k${i}`, value: { i }, tier: i % 2 ? ('warm' as const) : ('hot' as const) })))
    expect(await mem.peek('k1')).toEqual({ i: 1 })
    expect((await mem.getEntry('k1'))?.accessCount).toBe(0)
    await expect(mem.clear({ namespce: 'x' } as never)).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    expect(await mem.has('k0')).toBe(true)
    const progress: number[] = []
    expect(await mem.clear({ onProgress: (done) => progress.push(done) })).toBe(1500)
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(progress).toEqual([1000, 1500])
    expect(await mem.query({})).toEqual([])
  })
})

/**
 * The Deno side of the edge tests, run with `deno run --unstable-kv`: tiermem's handler as a user
 * serves it, plus `/__store/*`, which runs Deno KV stores here for the contract suite whose
 * assertions run in Node. Prints `listening <port>` once it serves.
 */
import { createHandler, denoKvStore } from '../../../src/edge/deno/index.ts'
import type { Store } from '../../../src/core/store/store.ts'
import type { Kv } from '../../../src/edge/deno/platform.ts'
import { fromWire, toWire } from './wire.ts'

declare const Deno: {
  openKv(path?: string): Promise<Kv>
  env: { get(name: string): string | undefined }
  serve(options: { port: number; hostname: string; onListen(addr: { port: number }): void }, handler: (request: Request) => Promise<Response>): unknown
}

const kv = await Deno.openKv(Deno.env.get('TIERMEM_KV_PATH'))
const handler = createHandler({ kv, tokens: Deno.env.get('TIERMEM_TOKENS'), maxBodyBytes: Number(Deno.env.get('TIERMEM_MAX_BODY_BYTES') ?? 25 * 1024 * 1024) })
const stores = new Map<number, Store>()
let next = 1

async function storeCall(request: Request): Promise<Response> {
  const { op, id, method, args, prefix } = fromWire(await request.text()) as { op: string; id: number; method: string; args: unknown[]; prefix: string[] }
  try {
    if (op === 'open') {
      const store = await denoKvStore(kv, { prefix })
      const storeId = next++
      stores.set(storeId, store)
      return new Response(toWire({ ok: { id: storeId, backend: store.backend, capabilities: store.capabilities } }))
    }
    // Raw KV access, to stage what a crash leaves behind and to look at what a store left.
    if (op === 'raw-set') {
      for (const { key, value } of args as Array<{ key: string[]; value: unknown }>) await kv.atomic().set(key, value).commit()
      return new Response(toWire({ ok: null }))
    }
    if (op === 'raw-list') {
      const out: Array<{ key: unknown[]; value: unknown }> = []
      for await (const entry of kv.list({ prefix })) out.push({ key: [...entry.key], value: entry.value })
      return new Response(toWire({ ok: out }))
    }
    const store = stores.get(id)!
    const result = await (store[method as 'getMany'] as (...a: unknown[]) => Promise<unknown>)(...args)
    return new Response(toWire({ ok: result ?? null }))
  } catch (error) {
    const e = error as { code?: string; message?: string }
    return new Response(toWire({ error: { code: e.code, message: e.message } }))
  }
}

Deno.serve({ port: 0, hostname: '127.0.0.1', onListen: ({ port }) => console.log(`listening ${port}`) }, (request) =>
  new URL(request.url).pathname === '/__store' ? storeCall(request) : handler(request),
)

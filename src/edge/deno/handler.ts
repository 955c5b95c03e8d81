import { createMemory } from '../../core/api/open-engine.ts'
import type { Memory, MemoryOptions } from '../../core/api/types.ts'
import { compressedStore } from '../../stores/compressed-store.ts'
import { DEFAULT_MAX_BODY_BYTES, routeOf, serveMemory } from '../http-api.ts'
import { errorResponse, HttpError } from '../http-errors.ts'
import { authorize, parseTokens, type TokenMap } from '../tokens.ts'
import { denoKvStore } from './kv-store.ts'
import type { Kv } from './platform.ts'

export interface DenoHandlerOptions {
  kv: Kv
  /** The tokens: a JSON object of token → namespace ('*' for all), e.g. Deno.env.get('TIERMEM_TOKENS'). */
  tokens: string | undefined
  /** Largest request body in bytes. Default 25 MiB. */
  maxBodyBytes?: number
  /** Engine options for every namespace's memory (budgets, policy); stores are the KV's. */
  memoryOptions?: Omit<MemoryOptions, 'stores'>
  /** Memories kept open at once; the least recently used is closed past this. Default 64. */
  maxOpenMemories?: number
}

export interface DenoHandler {
  (request: Request): Promise<Response>
  /** Closes every open memory (their stores flush); the KV stays open: it is the caller's. */
  close(): Promise<void>
}

/**
 * The HTTP API of API.md for `Deno.serve`: one memory per namespace, each over its own prefix of
 * one Deno KV (warm as it is, cold deflated). Deno serves one process, so each namespace's
 * memory is opened once and shared by its requests.
 */
export function createHandler(options: DenoHandlerOptions): DenoHandler {
  const tokens: TokenMap = parseTokens(options.tokens)
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  const maxOpen = options.maxOpenMemories ?? 64
  const open = new Map<string, Promise<Memory>>()

  const memoryOf = (namespace: string): Promise<Memory> => {
    let memory = open.get(namespace)
    if (memory) {
      // Most recently used last: a Map keeps insertion order.
      open.delete(namespace)
      open.set(namespace, memory)
      return memory
    }
    memory = (async () =>
      createMemory({
        ...options.memoryOptions,
        stores: {
          warm: await denoKvStore(options.kv, { prefix: ['tiermem', namespace, 'warm'] }),
          cold: compressedStore(await denoKvStore(options.kv, { prefix: ['tiermem', namespace, 'cold'] })),
        },
      }))()
    memory.catch(() => open.delete(namespace))
    open.set(namespace, memory)
    if (open.size > maxOpen) {
      const [oldest, closing] = open.entries().next().value as [string, Promise<Memory>]
      open.delete(oldest)
      void closing.then((m) => m.close()).catch((error: unknown) => console.error(`tiermem: closing namespace '${oldest}' failed`, error))
    }
    return memory
  }

  const handler = (async (request: Request): Promise<Response> => {
    try {
      const route = routeOf(new URL(request.url))
      if (!route) throw new HttpError(404, 'NOT_FOUND', 'no such route: the API is under /v1/:namespace/')
      authorize(request, tokens, route.namespace)
      return await serveMemory(await memoryOf(route.namespace), request, route, maxBodyBytes)
    } catch (error) {
      return errorResponse(error)
    }
  }) as DenoHandler
  handler.close = async () => {
    const memories = [...open.values()]
    open.clear()
    await Promise.all(memories.map(async (m) => (await m).close()))
  }
  return handler
}

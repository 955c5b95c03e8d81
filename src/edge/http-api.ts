import { concatBytes } from '../core/persistence/codec.ts'
import type { Memory, PutOptions, RecallOptions } from '../core/api/types.ts'
import { errorResponse, HttpError, jsonResponse } from './http-errors.ts'
import { isNamespace } from './tokens.ts'

/** Bodies over this are refused with 413 unless the handler is given another limit. */
export const DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024

/** A request's place in the API: the memory's namespace and what it asks of it. */
export interface Route {
  namespace: string
  /** 'entries' with a key, or one of the memory-wide routes. */
  resource: 'entries' | 'query' | 'recall' | 'stats' | 'backup' | 'restore'
  key?: string
}

/**
 * Reads `/v1/:namespace/<resource>[/:key]`. Undefined for a path outside the API (404); a bad
 * namespace or an undecodable key is bad input (400).
 */
export function routeOf(url: URL): Route | undefined {
  const match = /^\/v1\/([^/]+)\/(entries|query|recall|stats|backup|restore)(?:\/(.*))?$/.exec(url.pathname)
  if (!match) return undefined
  const namespace = decode(match[1]!, 'INVALID_OPTION', 'namespace')
  if (!isNamespace(namespace)) throw new HttpError(400, 'INVALID_OPTION', `'${namespace}' is not a namespace: 1–128 letters, digits, '.', '_' or '-'`)
  const resource = match[2] as Route['resource']
  if (resource !== 'entries') return match[3] === undefined ? { namespace, resource } : undefined
  if (match[3] === undefined || match[3] === '') throw new HttpError(400, 'INVALID_KEY', 'name the entry: /v1/:namespace/entries/:key (URL-encoded)')
  return { namespace, resource, key: decode(match[3], 'INVALID_KEY', 'key') }
}

function decode(part: string, code: 'INVALID_OPTION' | 'INVALID_KEY', what: string): string {
  try {
    return decodeURIComponent(part)
  } catch {
    throw new HttpError(400, code, `the ${what} in the path is not valid URL encoding`)
  }
}

/**
 * Answers one API request against a memory: the same code behind the Durable Object and the Deno
 * server. Authorization happened before (the router owns the tokens). Every failure becomes
 * `{ error: { code, message } }` with its status; a refused request changes nothing.
 */
export async function serveMemory(memory: Memory, request: Request, route: Route, maxBodyBytes = DEFAULT_MAX_BODY_BYTES): Promise<Response> {
  try {
    return await answer(memory, request, route, maxBodyBytes)
  } catch (error) {
    return errorResponse(error)
  }
}

async function answer(memory: Memory, request: Request, route: Route, maxBodyBytes: number): Promise<Response> {
  const method = request.method
  const entryNamespace = new URL(request.url).searchParams.get('namespace') ?? undefined
  const within = entryNamespace === undefined ? {} : { namespace: entryNamespace }
  switch (route.resource) {
    case 'entries': {
      const key = route.key!
      if (method === 'PUT') {
        const body = await jsonBody(request, maxBodyBytes)
        if (!isObject(body) || !('value' in body)) throw new HttpError(400, 'INVALID_VALUE', 'a PUT body is { "value": …, "options"?: PutOptions }')
        const options = body['options']
        if (options !== undefined && !isObject(options)) throw new HttpError(400, 'INVALID_OPTION', 'options must be an object (PutOptions)')
        const putOptions = { ...within, ...(options as PutOptions | undefined) }
        // JSON has no Float32Array: a vector arrives as an array of numbers.
        const vector: unknown = putOptions.vector
        if (Array.isArray(vector)) putOptions.vector = vectorOf(vector)
        return jsonResponse(await memory.put(key, body['value'], putOptions))
      }
      if (method === 'GET') {
        // get() counts the read; the entry read after it shows that read.
        const value = await memory.get(key, within)
        const entry = await memory.getEntry(key, within)
        if (entry === undefined) throw new HttpError(404, 'NOT_FOUND', `no entry '${key}' here`)
        return jsonResponse({ value, entry })
      }
      if (method === 'DELETE') return jsonResponse({ deleted: await memory.delete(key, within) })
      return notAllowed(method, 'GET, PUT, DELETE')
    }
    case 'query': {
      if (method !== 'POST') return notAllowed(method, 'POST')
      const filter = await jsonBody(request, maxBodyBytes, {})
      if (!isObject(filter)) throw new HttpError(400, 'INVALID_OPTION', 'the query body is a filter object')
      return jsonResponse({ entries: await memory.query(filter) })
    }
    case 'recall': {
      if (method !== 'POST') return notAllowed(method, 'POST')
      const body = await jsonBody(request, maxBodyBytes)
      if (!isObject(body)) throw new HttpError(400, 'INVALID_OPTION', 'the recall body is { "query": text or number[], "k"?, … }')
      const { query, ...options } = body
      const asked = Array.isArray(query) ? vectorOf(query) : query
      if (typeof asked !== 'string' && !(asked instanceof Float32Array)) throw new HttpError(400, 'INVALID_OPTION', 'query is a text or an array of numbers')
      return jsonResponse({ results: await memory.recall(asked, options as RecallOptions) })
    }
    case 'stats':
      if (method !== 'GET') return notAllowed(method, 'GET')
      return jsonResponse(await memory.stats())
    case 'backup':
      if (method !== 'GET') return notAllowed(method, 'GET')
      return new Response(await memory.backup(), {
        headers: { 'content-type': 'application/zip', 'content-disposition': `attachment; filename="tiermem-${route.namespace}.zip"` },
      })
    case 'restore': {
      if (method !== 'POST') return notAllowed(method, 'POST')
      const mode = new URL(request.url).searchParams.get('mode') ?? 'merge'
      if (mode !== 'merge' && mode !== 'replace') throw new HttpError(400, 'INVALID_OPTION', `mode is 'merge' or 'replace'; got '${mode}'`)
      const bytes = await bodyBytes(request, maxBodyBytes)
      const { restored } = await memory.restoreBackup(bytes, { mode })
      return jsonResponse({ restored })
    }
  }
}

function notAllowed(method: string, allowed: string): Response {
  const response = errorResponse(new HttpError(405, 'METHOD_NOT_ALLOWED', `${method} is not served here; use ${allowed}`))
  response.headers.set('allow', allowed)
  return response
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function vectorOf(numbers: unknown[]): Float32Array {
  if (!numbers.every((n) => typeof n === 'number' && Number.isFinite(n))) throw new HttpError(400, 'INVALID_OPTION', 'a query vector holds finite numbers only')
  return Float32Array.from(numbers as number[])
}

/** The body as JSON; an empty body is `empty` where the route allows one. */
async function jsonBody(request: Request, maxBodyBytes: number, empty?: unknown): Promise<unknown> {
  const bytes = await bodyBytes(request, maxBodyBytes)
  if (bytes.byteLength === 0 && empty !== undefined) return empty
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'the body is not JSON')
  }
}

/**
 * Reads the body, refusing it (413) past the limit: by its declared length before reading a byte,
 * and by counting for a body of no declared length, so nobody can make the server buffer more.
 */
export async function bodyBytes(request: Request, maxBodyBytes: number): Promise<Uint8Array> {
  const tooLarge = () => new HttpError(413, 'TOO_LARGE', `the body is over ${maxBodyBytes} bytes`)
  const declared = Number(request.headers.get('content-length') ?? NaN)
  if (declared > maxBodyBytes) throw tooLarge()
  if (!request.body) return new Uint8Array(0)
  const parts: Uint8Array[] = []
  let total = 0
  const reader = request.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > maxBodyBytes) {
      await reader.cancel()
      throw tooLarge()
    }
    parts.push(value)
  }
  return concatBytes(parts)
}

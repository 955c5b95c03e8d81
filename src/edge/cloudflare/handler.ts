import { HttpError, errorResponse } from '../http-errors.ts'
import { routeOf } from '../http-api.ts'
import { authorize, parseTokens, type TokenMap } from '../tokens.ts'
import type { DurableObjectNamespace } from './platform.ts'
import { maxBodyBytes, type TiermemEnv } from './worker-env.ts'

export interface CloudflareHandlerOptions {
  /** Name of the Durable Object binding of TiermemObject in wrangler.toml. Default 'TIERMEM'. */
  binding?: string
}

/**
 * The Worker in front of the Durable Objects: it authorizes each request with the tokens secret
 * and forwards it to the namespace's object (one object per namespace: `idFromName(namespace)`).
 * A refused request never wakes an object, and an oversized one is refused by its declared length.
 */
export function createHandler(options: CloudflareHandlerOptions = {}): {
  fetch(request: Request, env: TiermemEnv & Record<string, unknown>): Promise<Response>
} {
  const binding = options.binding ?? 'TIERMEM'
  let cached: { json: string | undefined; tokens: TokenMap } | undefined
  const tokensOf = (env: TiermemEnv): TokenMap => {
    if (cached === undefined || cached.json !== env.TIERMEM_TOKENS) {
      try {
        cached = { json: env.TIERMEM_TOKENS, tokens: parseTokens(env.TIERMEM_TOKENS) }
      } catch (error) {
        // The deployment's fault, not the caller's: a 500 that says what to fix.
        throw new HttpError(500, 'INTERNAL', (error as Error).message)
      }
    }
    return cached.tokens
  }
  return {
    async fetch(request, env) {
      try {
        const route = routeOf(new URL(request.url))
        if (!route) throw new HttpError(404, 'NOT_FOUND', 'no such route: the API is under /v1/:namespace/')
        authorize(request, tokensOf(env), route.namespace)
        const declared = Number(request.headers.get('content-length') ?? NaN)
        if (declared > maxBodyBytes(env)) throw new HttpError(413, 'TOO_LARGE', `the body is over ${maxBodyBytes(env)} bytes`)
        const namespace = env[binding] as DurableObjectNamespace | undefined
        if (!namespace?.idFromName)
          throw new HttpError(500, 'INTERNAL', `no Durable Object binding '${binding}': bind TiermemObject under that name in wrangler.toml`)
        return await namespace.get(namespace.idFromName(route.namespace)).fetch(request)
      } catch (error) {
        return errorResponse(error)
      }
    },
  }
}

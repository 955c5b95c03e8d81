import { TiermemError } from '../core/api/errors.ts'
import { HttpError } from './http-errors.ts'

/** Bearer tokens and the namespace each may use ('*': every namespace). */
export type TokenMap = ReadonlyMap<string, string>

/**
 * Reads the tokens secret: a JSON object of token → namespace (or '*'). Refused whole when it is
 * not one, so a typo in the secret locks everybody out instead of letting everybody in.
 */
export function parseTokens(json: string | undefined): TokenMap {
  if (json === undefined || json.trim() === '') {
    throw new TiermemError('INVALID_OPTION', 'no tokens: set TIERMEM_TOKENS to a JSON object of token → namespace, e.g. {"s3cret":"agent-1","admin":"*"}')
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch (cause) {
    throw new TiermemError('INVALID_OPTION', 'TIERMEM_TOKENS is not JSON: it must be an object of token → namespace', { cause })
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new TiermemError('INVALID_OPTION', 'TIERMEM_TOKENS must be a JSON object of token → namespace')
  }
  const tokens = new Map<string, string>()
  for (const [token, namespace] of Object.entries(parsed)) {
    if (token.length < 8) throw new TiermemError('INVALID_OPTION', 'every token in TIERMEM_TOKENS needs at least 8 characters')
    if (typeof namespace !== 'string' || (namespace !== '*' && !isNamespace(namespace))) {
      throw new TiermemError('INVALID_OPTION', `token …${token.slice(-2)} names '${String(namespace)}': a namespace (letters, digits, . _ -) or '*'`)
    }
    tokens.set(token, namespace)
  }
  return tokens
}

const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/** A namespace as the URL names it: what a Durable Object name or a KV key part can hold safely. */
export function isNamespace(name: string): boolean {
  return NAMESPACE.test(name)
}

/** 401 without a known token; 403 for a token of another namespace. */
export function authorize(request: Request, tokens: TokenMap, namespace: string): void {
  const header = request.headers.get('authorization') ?? ''
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  if (!match) throw new HttpError(401, 'UNAUTHORIZED', 'send Authorization: Bearer <token>')
  const allowed = tokens.get(match[1]!)
  if (allowed === undefined) throw new HttpError(401, 'UNAUTHORIZED', 'this token is not known here')
  if (allowed !== '*' && allowed !== namespace) throw new HttpError(403, 'FORBIDDEN', `this token may not use namespace '${namespace}'`)
}

import { DEFAULT_MAX_BODY_BYTES } from '../http-api.ts'

/** What the Worker's environment may set for tiermem. */
export interface TiermemEnv {
  /** JSON object of bearer token → namespace ('*' for all): a secret (`wrangler secret put TIERMEM_TOKENS`). */
  TIERMEM_TOKENS?: string
  /** Largest request body in bytes (default 25 MiB). */
  TIERMEM_MAX_BODY_BYTES?: string
}

/** The body limit the environment sets, or the default. */
export function maxBodyBytes(env: TiermemEnv): number {
  const configured = Number(env.TIERMEM_MAX_BODY_BYTES)
  return Number.isInteger(configured) && configured > 0 ? configured : DEFAULT_MAX_BODY_BYTES
}

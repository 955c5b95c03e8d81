import { DEFAULT_MAX_BODY_BYTES } from '../http-api.ts'
import type { R2Bucket } from './platform.ts'

/** What the Worker's environment may set for tiermem. */
export interface TiermemEnv {
  /** JSON object of bearer token → namespace ('*' for all): a secret (`wrangler secret put TIERMEM_TOKENS`). */
  TIERMEM_TOKENS?: string
  /** Largest request body in bytes (default 25 MiB). */
  TIERMEM_MAX_BODY_BYTES?: string
  /** An R2 bucket binding: where set, every object keeps its cold tier there. */
  TIERMEM_COLD?: R2Bucket
}

/** The body limit the environment sets, or the default. */
export function maxBodyBytes(env: TiermemEnv): number {
  const configured = Number(env.TIERMEM_MAX_BODY_BYTES)
  return Number.isInteger(configured) && configured > 0 ? configured : DEFAULT_MAX_BODY_BYTES
}

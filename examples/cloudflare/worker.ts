// A Worker that serves tiermem's HTTP API: one Durable Object per agent namespace.
// Deploy with `wrangler deploy` (wrangler.toml beside this file); run locally with `npm run edge:cloudflare`.
import { createHandler, TiermemObject } from 'tiermem/edge/cloudflare'

export { TiermemObject }
export default createHandler()

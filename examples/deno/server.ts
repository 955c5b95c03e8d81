// tiermem's HTTP API on Deno KV. In your project: import from 'npm:tiermem/edge/deno'.
// Run: TIERMEM_TOKENS='{"<token>":"<namespace>"}' deno run --unstable-kv -A server.ts  (npm run edge:deno here)
import { createHandler } from 'tiermem/edge/deno'

declare const Deno: {
  openKv(path?: string): Promise<Parameters<typeof createHandler>[0]['kv']>
  env: { get(name: string): string | undefined }
  serve(options: { port: number; hostname?: string }, handler: (request: Request) => Promise<Response>): unknown
}

const kv = await Deno.openKv(Deno.env.get('TIERMEM_KV_PATH'))
const handler = createHandler({ kv, tokens: Deno.env.get('TIERMEM_TOKENS') })
Deno.serve({ port: Number(Deno.env.get('PORT') ?? 8000) }, handler)

// A stranger's Deno server: tiermem from the installed tarball (Deno reads node_modules beside package.json).
import { createHandler } from 'tiermem/edge/deno'

const kv = await Deno.openKv(Deno.env.get('TIERMEM_KV_PATH'))
const handler = createHandler({ kv, tokens: Deno.env.get('TIERMEM_TOKENS') })
Deno.serve({ port: 0, hostname: '127.0.0.1', onListen: ({ port }) => console.log(`listening ${port}`) }, handler)

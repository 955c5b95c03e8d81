// The runtime module a Durable Object class extends (workerd provides it; bundlers leave it
// external). Only what tiermem uses is declared; the object's state is typed by platform.ts.
declare module 'cloudflare:workers' {
  export abstract class DurableObject<Env = unknown> {
    protected readonly ctx: unknown
    protected readonly env: Env
    constructor(ctx: unknown, env: Env)
  }
}

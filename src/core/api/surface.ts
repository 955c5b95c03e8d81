import type { Memory } from './types.ts'

/**
 * The Memory surface, defined once: every method of `Memory` (types.ts) with how it crosses a
 * boundary between a page and the host that runs the engine. The compiler checks that the table
 * names every method, so a new one (recall, backup) is a line here plus its implementation: the
 * worker host's dispatch and the page client's proxy for every 'forward' method are generated
 * from this table (src/hosts/memory-host.ts, src/client/connect.ts).
 *
 * - wire 'forward': the arguments and the result are plain data, sent as they are.
 * - wire 'special': the host and the client each have a hand-written form (values travel as
 *   encoded bytes, puts of one turn are batched, scopes and events live on both sides).
 * - transfersBytes: its values cross as encoded bytes in a transferred buffer.
 * - repeatSafe: sending it again after a lost connection cannot change the outcome (reads, and
 *   writes that set a state rather than add to it); what a new leader may retry (several tabs).
 */
export interface MethodSpec {
  readonly wire: 'forward' | 'special'
  readonly transfersBytes: boolean
  readonly repeatSafe: boolean
}

export type MemoryMethod = Exclude<keyof Memory, symbol>

const forward = (repeatSafe: boolean) => ({ wire: 'forward', transfersBytes: false, repeatSafe }) as const
const special = (repeatSafe: boolean, transfersBytes = false) => ({ wire: 'special', transfersBytes, repeatSafe }) as const

export const MEMORY_SURFACE = {
  put: special(true, true),
  putMany: special(true, true),
  get: special(true, true),
  getMany: special(true, true),
  getEntry: forward(true),
  peek: special(true, true),
  clear: special(true),
  has: forward(true),
  delete: forward(true),
  query: forward(true),
  openScope: special(false),
  retain: forward(false),
  release: forward(false),
  evict: forward(true),
  promote: forward(true),
  demote: forward(true),
  embed: forward(true),
  recall: forward(true),
  dedupe: forward(true),
  archive: forward(true),
  restore: forward(true),
  backup: special(true),
  restoreBackup: special(false),
  snapshots: forward(true),
  readSnapshot: special(true),
  gc: forward(true),
  stats: forward(true),
  checkPressure: forward(true),
  configure: forward(true),
  on: special(true),
  flush: forward(true),
  close: special(true),
} as const satisfies { readonly [K in MemoryMethod]: MethodSpec }

/** The methods a host forwards to the engine and a client to the host as they are. */
export type ForwardedMethod = { [K in MemoryMethod]: (typeof MEMORY_SURFACE)[K]['wire'] extends 'forward' ? K : never }[MemoryMethod]

export const FORWARDED_METHODS = (Object.keys(MEMORY_SURFACE) as MemoryMethod[]).filter(
  (name): name is ForwardedMethod => MEMORY_SURFACE[name].wire === 'forward',
)

/** The forwarded part of a Memory, built by sending each call through `send`. */
export function forwardedMethods(send: (name: ForwardedMethod, args: unknown[]) => Promise<unknown>): Pick<Memory, ForwardedMethod> {
  return Object.fromEntries(FORWARDED_METHODS.map((name) => [name, (...args: unknown[]) => send(name, args)])) as unknown as Pick<Memory, ForwardedMethod>
}

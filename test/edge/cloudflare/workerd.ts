import { bundleForWorkerd } from '../../../scripts/bundle-for-workerd.ts'
import { Miniflare } from 'miniflare'
import { fileURLToPath } from 'node:url'
import type { Store } from '../../../src/core/store/store.ts'
import { TiermemError, isErrorCode } from '../../../src/core/api/errors.ts'

/** The test Worker bundled as wrangler would (esbuild, 'cloudflare:' modules left to the runtime). */
export function bundleTestWorker(): Promise<string> {
  return bundleForWorkerd(fileURLToPath(new URL('./test-worker.ts', import.meta.url)))
}

export const TEST_TOKENS = { 'token-agent-1': 'agent-1', 'token-agent-2': 'agent-2', 'token-admin-all': '*' }

/** workerd with the test Worker; `persist`: a directory that outlives this Miniflare (a restart). */
export function startWorkerd(script: string, options: { persist?: string; bindings?: Record<string, string> } = {}): Miniflare {
  return new Miniflare({
    modules: true,
    script,
    compatibilityDate: '2026-04-01',
    durableObjects: {
      TIERMEM: { className: 'TiermemObject', useSQLite: true },
      QUICK: { className: 'QuickObject', useSQLite: true },
      STORES: { className: 'StoreHost', useSQLite: true },
      R2OBJ: { className: 'R2Object', useSQLite: true },
    },
    r2Buckets: ['COLD_R2', 'CONTRACT_R2'],
    bindings: { TIERMEM_TOKENS: JSON.stringify(TEST_TOKENS), ...options.bindings },
    ...(options.persist ? { durableObjectsPersist: options.persist } : {}),
  })
}

/** The stub of the named object of a Durable Object binding, for RPC from Node. */
export async function objectStub<T>(mf: Miniflare, binding: string, name: string): Promise<T> {
  const ns = (await mf.getDurableObjectNamespace(binding)) as unknown as { idFromName(name: string): unknown; get(id: unknown): T }
  return ns.get(ns.idFromName(name))
}

interface StoreHostStub {
  open(table: string, compressed: boolean, r2?: boolean): Promise<{ id: number; backend: string; capabilities: Store['capabilities'] }>
  call(id: number, method: string, args: unknown[]): Promise<{ ok?: unknown; error?: { name?: string; code?: string; message?: string } }>
}

/** A Store in Node whose every call runs on a store inside a Durable Object in workerd (its SQLite, or R2 with `r2`). */
export async function remoteSqlStore(mf: Miniflare, objectName: string, table: string, compressed: boolean, r2 = false): Promise<Store> {
  const host = await objectStub<StoreHostStub>(mf, 'STORES', objectName)
  const { id, backend, capabilities } = await host.open(table, compressed, r2)
  const call = async (method: string, ...args: unknown[]): Promise<never> => {
    const answer = await host.call(
      id,
      method,
      args.filter((a) => a !== undefined),
    )
    if (answer.error) {
      const { code, message = 'failed' } = answer.error
      throw code && isErrorCode(code) ? new TiermemError(code, message) : new Error(message)
    }
    return answer.ok as never
  }
  return {
    backend,
    capabilities,
    getMany: (space, keys) => call('getMany', space, keys),
    batch: (ops) => call('batch', ops),
    scan: (space, options) => call('scan', space, options),
    keys: (space, options) => call('keys', space, options),
    stats: () => call('stats'),
    close: () => call('close'),
  }
}

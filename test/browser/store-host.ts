import { wrap, type Remote } from 'comlink'
import { installErrorTransfer } from '../../src/wire/error-transfer.ts'
import type { OpfsStoreOptions } from '../../src/stores/opfs-store.ts'
import type { Store } from '../../src/core/store/store.ts'
import type { StoreHost } from './store-host.worker.ts'

installErrorTransfer()
let host: Remote<StoreHost> | undefined

export function storeHost(): Remote<StoreHost> {
  host ??= wrap<StoreHost>(new Worker(new URL('./store-host.worker.ts', import.meta.url), { type: 'module' }))
  return host
}

/** A Store on the page whose every call runs on a real OPFS store in the host worker. */
export async function remoteOpfsStore(options: OpfsStoreOptions): Promise<Store> {
  const h = storeHost()
  const { id, backend, capabilities } = await h.open(options)
  const call = (method: 'getMany' | 'batch' | 'scan' | 'keys' | 'stats' | 'close', ...args: unknown[]) => h.call(id, method, args)
  return {
    backend,
    capabilities,
    getMany: (space, keys) => call('getMany', space, keys) as ReturnType<Store['getMany']>,
    batch: (ops) => call('batch', ops) as Promise<void>,
    scan: (space, options) => call('scan', space, options) as ReturnType<Store['scan']>,
    keys: (space, options) => call('keys', space, options) as Promise<string[]>,
    stats: () => call('stats') as ReturnType<Store['stats']>,
    close: () => call('close') as Promise<void>,
  }
}

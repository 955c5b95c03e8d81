import { wrap, type Remote } from 'comlink'
import { installErrorTransfer } from '../../src/wire/error-transfer.ts'
import type { OpfsStoreOptions } from '../../src/stores/opfs-store.ts'
import type { Store } from '../../src/core/store/store.ts'
import type { RecordFile } from '../../src/core/store/record-file.ts'
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

/** A RecordFile on the page whose every call runs on a real OPFS record file in the host worker. */
export async function remoteOpfsRecordFile(directory: string, name: string, recordBytes: number): Promise<RecordFile> {
  const h = storeHost()
  const { id, backend } = await h.openRecords(directory, name, recordBytes)
  const call = (method: 'read' | 'write' | 'truncate' | 'close', ...args: unknown[]) => h.callRecords(id, method, args)
  return {
    backend,
    recordBytes,
    async read(indices, into) {
      if (into === undefined) return (await call('read', indices)) as Awaited<ReturnType<RecordFile['read']>>
      // The worker reads into a copy of the buffer; its bytes and the records' places in it come back to the caller's.
      const { into: filled, at } = await h.readRecordsInto(id, [...indices], into)
      into.set(filled)
      return at.map((where) => (typeof where !== 'number' ? where : where < 0 ? undefined : into.subarray(where, where + recordBytes)))
    },
    write: (records) => call('write', records) as Promise<void>,
    truncate: (count) => call('truncate', count) as Promise<void>,
    close: () => call('close') as Promise<void>,
  }
}

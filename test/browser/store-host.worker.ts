// A dedicated worker that hosts stores for browser tests: OPFS sync access handles exist only
// in dedicated workers, so the page drives the real store through comlink.
import { expose } from 'comlink'
import { installErrorTransfer } from '../../src/wire/error-transfer.ts'
import { deleteOpfsStore, openOpfsStore, type OpfsStoreOptions, type SyncHandle } from '../../src/stores/opfs-store.ts'
import type { Store } from '../../src/core/store/store.ts'
import type { RecordFile } from '../../src/core/store/record-file.ts'
import { opfsRecordFiles } from '../../src/stores/opfs-record-file.ts'

installErrorTransfer()
const stores = new Map<number, Store>()
const recordFiles = new Map<number, RecordFile>()
let nextId = 1

const host = {
  async open(options: OpfsStoreOptions): Promise<{ id: number; backend: string; capabilities: Store['capabilities'] }> {
    const store = await openOpfsStore(options)
    const id = nextId++
    stores.set(id, store)
    return { id, backend: store.backend, capabilities: store.capabilities }
  },
  call(id: number, method: 'getMany' | 'batch' | 'scan' | 'keys' | 'stats' | 'close', args: unknown[]): Promise<unknown> {
    const store = stores.get(id)
    if (!store) throw new Error(`no store ${id}`)
    return (store[method] as (...a: unknown[]) => Promise<unknown>)(...args)
  },
  deleteStore: deleteOpfsStore,
  async openRecords(directory: string, name: string, recordBytes: number): Promise<{ id: number; backend: string }> {
    const file = await opfsRecordFiles(directory)(name, recordBytes)
    const id = nextId++
    recordFiles.set(id, file)
    return { id, backend: file.backend }
  },
  callRecords(id: number, method: 'read' | 'write' | 'truncate' | 'close', args: unknown[]): Promise<unknown> {
    const file = recordFiles.get(id)
    if (!file) throw new Error(`no record file ${id}`)
    return (file[method] as (...a: unknown[]) => Promise<unknown>)(...args)
  },
  /**
   * A read into a buffer, carried across the worker boundary: the buffer as the read left it,
   * and where each record is in it (-1: none; a record that is not a view of it comes back whole).
   */
  async readRecordsInto(id: number, indices: number[], into: Uint8Array): Promise<{ into: Uint8Array; at: Array<number | Uint8Array> }> {
    const file = recordFiles.get(id)
    if (!file) throw new Error(`no record file ${id}`)
    const records = await file.read(indices, into)
    return { into, at: records.map((r) => (r === undefined ? -1 : r.buffer === into.buffer ? r.byteOffset - into.byteOffset : r.slice())) }
  },
  /** Damages one byte of a segment file (corruption tests). */
  async corrupt(directory: string, file: string, at: number): Promise<void> {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(directory)
    const handle = await ((await dir.getFileHandle(file)) as unknown as { createSyncAccessHandle(): Promise<SyncHandle> }).createSyncAccessHandle()
    const byte = new Uint8Array(1)
    handle.read(byte, { at })
    byte[0] = byte[0]! ^ 0xff
    handle.write(byte, { at })
    handle.flush()
    handle.close()
  },
  async files(directory: string): Promise<Array<{ name: string; size: number }>> {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(directory)
    const out: Array<{ name: string; size: number }> = []
    for await (const [name, handle] of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemFileHandle]> }).entries()) {
      out.push({ name, size: (await handle.getFile()).size })
    }
    return out.sort((a, b) => a.name.localeCompare(b.name))
  },
  /** Appends raw bytes to a file, as a crash mid-append would leave them. */
  async appendGarbage(directory: string, file: string, bytes: Uint8Array): Promise<void> {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(directory)
    const handle = await ((await dir.getFileHandle(file)) as unknown as { createSyncAccessHandle(): Promise<SyncHandle> }).createSyncAccessHandle()
    handle.write(bytes, { at: handle.getSize() })
    handle.flush()
    handle.close()
  },
}
export type StoreHost = typeof host
expose(host)

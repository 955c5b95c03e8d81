// The dedicated module worker that runs the tier engine over IndexedDB and OPFS. Published as
// `tiermem/worker`: start it yourself with `new Worker(url, { type: 'module' })` where your
// bundler does not follow openMemory()'s own `new URL(...)` (see docs/bundlers.md).
import { openBrowserStores } from '../src/hosts/browser-stores.ts'
import { exposeMemoryHost } from '../src/hosts/memory-host.ts'
import { storageEstimateSignal } from '../src/hosts/storage-signal.ts'

exposeMemoryHost(globalThis as unknown as Parameters<typeof exposeMemoryHost>[0], openBrowserStores, [storageEstimateSignal()])

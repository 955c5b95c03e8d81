/// <reference lib="webworker" />
// The dedicated module worker that runs the tier engine over IndexedDB and OPFS.
import { openBrowserStores } from '../src/hosts/browser-stores.ts'
import { exposeMemoryHost } from '../src/hosts/memory-host.ts'
import { storageEstimateSignal } from '../src/hosts/storage-signal.ts'

exposeMemoryHost(self as unknown as Parameters<typeof exposeMemoryHost>[0], openBrowserStores, [storageEstimateSignal()])

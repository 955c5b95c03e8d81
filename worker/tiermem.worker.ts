/// <reference lib="webworker" />
// The dedicated module worker that runs the tier engine over IndexedDB and OPFS.
import { openBrowserStores } from './browser-stores.ts'
import { exposeMemoryHost } from './memory-host.ts'
import { storageEstimateSignal } from './storage-signal.ts'

exposeMemoryHost(self as unknown as Parameters<typeof exposeMemoryHost>[0], openBrowserStores, [storageEstimateSignal()])

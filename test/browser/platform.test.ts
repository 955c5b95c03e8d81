import { expect, it } from 'vitest'

it('runs in real Chromium with IndexedDB, OPFS and sync access handles in a worker', async () => {
  expect(navigator.userAgent).toMatch(/Chrome/)
  expect(typeof indexedDB.open).toBe('function')
  const root = await navigator.storage.getDirectory()
  expect(root.kind).toBe('directory')
  const source = `onmessage = async () => {
    const root = await navigator.storage.getDirectory()
    const file = await root.getFileHandle('probe.bin', { create: true })
    const handle = await file.createSyncAccessHandle()
    handle.write(new Uint8Array([1, 2, 3]), { at: 0 })
    handle.flush()
    const out = new Uint8Array(3)
    handle.read(out, { at: 0 })
    handle.close()
    postMessage([...out])
  }`
  const worker = new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })))
  const result = await new Promise((resolve) => {
    worker.onmessage = (e) => resolve(e.data)
    worker.postMessage(null)
  })
  expect(result).toEqual([1, 2, 3])
  worker.terminate()
})

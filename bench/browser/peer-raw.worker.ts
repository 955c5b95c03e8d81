// Raw baselines: postMessage batches from a Map, and fflate + OPFS sync-handle writes
// (the physical limit for cold: compress 64 KiB blocks and append them, joined into writes of
// up to 192 KiB as the cold store joins them: a sync write costs ~1.3 ms whatever its size).
import { deflateSync } from 'fflate'
import { concatBytes } from '../../src/core/persistence/codec.ts'

const map = new Map<string, unknown>()
self.onmessage = async (event: MessageEvent) => {
  const msg = event.data
  if (msg.type === 'load') {
    for (const [k, v] of msg.entries) map.set(k, v)
    postMessage({ type: 'loaded' })
  } else if (msg.type === 'getMany') {
    postMessage({ type: 'values', values: msg.keys.map((k: string) => map.get(k)) })
  } else if (msg.type === 'opfsWrite') {
    const root = await navigator.storage.getDirectory()
    await root.removeEntry('raw-bench.bin').catch(() => undefined)
    const file = await root.getFileHandle('raw-bench.bin', { create: true })
    const handle = await (
      file as unknown as { createSyncAccessHandle(): Promise<{ write(b: Uint8Array, o: { at: number }): number; flush(): void; close(): void }> }
    ).createSyncAccessHandle()
    const started = performance.now()
    let at = 0
    let raw = 0
    let run: Uint8Array[] = []
    let runBytes = 0
    const write = () => {
      at += handle.write(concatBytes(run), { at })
      run = []
      runBytes = 0
    }
    for (const block of msg.blocks as Uint8Array[]) {
      const level = msg.level ?? 6
      const deflated = deflateSync(block, msg.mem === undefined ? { level } : { level, mem: msg.mem })
      if (runBytes + deflated.byteLength > 192 * 1024) write()
      run.push(deflated)
      runBytes += deflated.byteLength
      raw += block.byteLength
    }
    if (runBytes > 0) write()
    handle.flush()
    const ms = performance.now() - started
    handle.close()
    postMessage({ type: 'opfsWritten', ms, raw, stored: at })
  }
}

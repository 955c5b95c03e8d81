import { TiermemError } from '../core/api/errors.ts'
import { checkRecord, readBuffer, type RecordFile, type RecordFiles } from '../core/store/record-file.ts'
import type { SyncHandle } from './opfs-index.ts'
import { toStorageError } from './storage-errors.ts'

/**
 * Record files in OPFS, one file per (name, width) in the memory's OPFS directory, read and
 * written at fixed offsets through a sync access handle: a record read is one synchronous read
 * of its bytes, no IPC round trip (what makes re-ranking from outside memory fast). Dedicated
 * workers only (sync access handles exist nowhere else); the memory's Web Lock keeps a second
 * worker out, as for the cold store in the same directory.
 */
export function opfsRecordFiles(directory: string): RecordFiles {
  return async (name, recordBytes) => {
    if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new TiermemError('INVALID_OPTION', `record file names are lowercase words; got '${name}'`)
    let handle: SyncHandle
    try {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(directory, { create: true })
      const file = await dir.getFileHandle(`${name}-${recordBytes}.rec`, { create: true })
      handle = await (file as unknown as { createSyncAccessHandle(): Promise<SyncHandle> }).createSyncAccessHandle()
    } catch (error) {
      throw toStorageError(error, `opening OPFS record file '${name}'`, 'CLOSED')
    }
    let closed = false
    // Kept here, not asked per read: a getSize() took ~0.2 ms in an incognito Chromium profile (measured), as much as the read itself.
    let size = handle.getSize()
    const assertOpen = () => {
      if (closed) throw new TiermemError('CLOSED', `OPFS record file '${name}' is closed`)
    }
    const recordFile: RecordFile = {
      backend: 'opfs',
      recordBytes,
      async read(indices, into) {
        assertOpen()
        // Views of one buffer: in Chromium a fresh ArrayBuffer per 1.5 KiB record made each read
        // ~33 µs, against ~4 µs into a buffer kept (measured).
        const buffer = readBuffer(recordFile, indices, into)
        return indices.map((index, i) => {
          const at = index * recordBytes
          if (at + recordBytes > size) return undefined
          const bytes = buffer.subarray(i * recordBytes, (i + 1) * recordBytes)
          return handle.read(bytes, { at }) === recordBytes ? bytes : undefined
        })
      },
      async write(records) {
        assertOpen()
        for (const { index, bytes } of records) checkRecord(recordFile, index, bytes)
        try {
          // Runs of consecutive records in one write each: a sync write cost ~1 ms whatever its
          // size in Chromium (measured), so 20,000 codes written one by one took 21 s.
          for (const run of consecutiveRuns(records)) {
            handle.write(joinRun(run, recordBytes), { at: run[0]!.index * recordBytes })
            size = Math.max(size, (run[run.length - 1]!.index + 1) * recordBytes)
          }
          handle.flush()
        } catch (error) {
          throw toStorageError(error, `writing OPFS record file '${name}'`)
        }
      },
      async truncate(count) {
        assertOpen()
        if (!Number.isInteger(count) || count < 0) throw new TiermemError('INVALID_VALUE', `a record count is an integer ≥ 0; got ${count}`)
        try {
          if (size > count * recordBytes) handle.truncate(count * recordBytes)
          handle.flush()
          size = Math.min(size, count * recordBytes)
        } catch (error) {
          throw toStorageError(error, `truncating OPFS record file '${name}'`)
        }
      },
      async close() {
        if (closed) return
        closed = true
        handle.flush()
        handle.close()
      },
    }
    return recordFile
  }
}

type Record = { index: number; bytes: Uint8Array }

/** The records sorted by number and cut where the numbers stop following each other; a number given twice keeps its last bytes. */
function consecutiveRuns(records: ReadonlyArray<Record>): Record[][] {
  const last = new Map<number, Record>()
  for (const record of records) last.set(record.index, record)
  const sorted = [...last.values()].sort((a, b) => a.index - b.index)
  const runs: Record[][] = []
  for (const record of sorted) {
    const run = runs[runs.length - 1]
    if (run && run[run.length - 1]!.index + 1 === record.index) run.push(record)
    else runs.push([record])
  }
  return runs
}

/** One run's bytes back to back (the record itself when it is alone). */
function joinRun(run: Record[], recordBytes: number): Uint8Array {
  if (run.length === 1) return run[0]!.bytes
  const joined = new Uint8Array(run.length * recordBytes)
  run.forEach((record, i) => joined.set(record.bytes, i * recordBytes))
  return joined
}

import { TiermemError } from '../api/errors.ts'

/**
 * Fixed-width records by number: where the vector index keeps a copy of each node's Float32
 * vector for re-ranking recall's candidates. Why beside the stores: re-ranking reads ~15 vectors
 * at random per query; from IndexedDB that is ~2 ms at p50 and ~7 ms at p99 in Chromium
 * (measured), from an OPFS file through a sync access handle a few µs each.
 *
 * The copy is derived: every vector's source stays its entry in the tiers. A record that was
 * never written, was torn by a crash, or belongs to another node fails its check on read and the
 * caller reads the entry instead; nothing is lost with the file.
 */
export interface RecordFile {
  /** Short name of the backend: 'memory', 'opfs'. */
  readonly backend: string
  readonly recordBytes: number
  /**
   * Records by number (undefined past the end of the file), each a copy the caller owns: views
   * of `into` when given (at least indices.length × recordBytes; record i at i × recordBytes),
   * so a caller reading often can keep one buffer.
   */
  read(indices: readonly number[], into?: Uint8Array): Promise<(Uint8Array | undefined)[]>
  /** Writes records, each exactly recordBytes long; durable once the promise resolves. */
  write(records: ReadonlyArray<{ index: number; bytes: Uint8Array }>): Promise<void>
  /** Keeps the first `records` records and gives the rest of the file's space back. */
  truncate(records: number): Promise<void>
  close(): Promise<void>
}

/** Opens (creating if needed) one record file of a memory, by name and record width. */
export type RecordFiles = (name: string, recordBytes: number) => Promise<RecordFile>

export function checkRecord(file: RecordFile, index: number, bytes: Uint8Array): void {
  if (!Number.isInteger(index) || index < 0) throw new TiermemError('INVALID_VALUE', `record numbers are integers ≥ 0; got ${index}`)
  if (bytes.byteLength !== file.recordBytes)
    throw new TiermemError('INVALID_VALUE', `records of '${file.backend}' record file are ${file.recordBytes} bytes; got ${bytes.byteLength}`)
}

/** Where a read puts its records: the caller's buffer, checked, or one made for the call (one ArrayBuffer, not one per record). */
export function readBuffer(file: RecordFile, indices: readonly number[], into: Uint8Array | undefined): Uint8Array {
  const size = indices.length * file.recordBytes
  if (into === undefined) return new Uint8Array(size)
  if (!(into instanceof Uint8Array) || into.byteLength < size) {
    throw new TiermemError('INVALID_VALUE', `reading ${indices.length} records of ${file.recordBytes} bytes needs a Uint8Array of at least ${size} bytes`)
  }
  return into
}

/** Record files in memory: the reference the contract suite is written against (and what tests share to "reopen"). */
export function memoryRecordFiles(data = new Map<string, Map<number, Uint8Array>>()): RecordFiles {
  return async (name, recordBytes) => {
    const key = `${name}:${recordBytes}`
    let records = data.get(key)
    if (!records) data.set(key, (records = new Map()))
    let closed = false
    const file: RecordFile = {
      backend: 'memory',
      recordBytes,
      async read(indices, into) {
        if (closed) throw new TiermemError('CLOSED', 'this record file is closed')
        const buffer = readBuffer(file, indices, into)
        return indices.map((index, i) => {
          const record = records.get(index)
          if (!record) return undefined
          const bytes = buffer.subarray(i * recordBytes, (i + 1) * recordBytes)
          bytes.set(record)
          return bytes
        })
      },
      async write(list) {
        if (closed) throw new TiermemError('CLOSED', 'this record file is closed')
        for (const { index, bytes } of list) checkRecord(file, index, bytes)
        for (const { index, bytes } of list) records.set(index, bytes.slice())
      },
      async truncate(count) {
        if (closed) throw new TiermemError('CLOSED', 'this record file is closed')
        if (!Number.isInteger(count) || count < 0) throw new TiermemError('INVALID_VALUE', `a record count is an integer ≥ 0; got ${count}`)
        for (const index of [...records.keys()]) if (index >= count) records.delete(index)
      },
      async close() {
        closed = true
      },
    }
    return file
  }
}

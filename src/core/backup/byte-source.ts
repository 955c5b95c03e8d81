import { TiermemError } from '../api/errors.ts'
import type { RecordFile, RecordFiles } from '../store/record-file.ts'
import { invalid } from './backup-format.ts'
import type { BlobLike } from '../api/types.ts'

/**
 * A backup's bytes read at any offset. Restoring verifies a whole chain before it writes
 * anything, then reads it again to apply it: a source must be readable twice, at bounded memory.
 * Bytes and Blobs are; a stream is spooled first (spoolStream), to a record file where the
 * platform has them (OPFS), so a backup larger than memory restores.
 */
export interface ByteSource {
  readonly size: number
  /** Bytes of the reader's own, in a buffer nothing else holds (a restore hands them to an inflater, which may transfer them). */
  read(offset: number, length: number): Promise<Uint8Array>
  /** Gives back what the source held (a spool file's space). */
  release(): Promise<void>
  /** Lets go of the source and keeps what it holds (a snapshot's file). */
  close(): Promise<void>
}

/** Bytes of a spool record: a u32 length, then up to SPOOL_CHUNK bytes of the stream. */
const SPOOL_CHUNK = 256 * 1024

function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.byteLength,
    async read(offset, length) {
      // A copy: what a source reads is the reader's (it may hand it to a worker), never the caller's buffer.
      return bytes.slice(offset, offset + length)
    },
    async release() {},
    async close() {},
  }
}

function blobSource(blob: BlobLike): ByteSource {
  return {
    size: blob.size,
    async read(offset, length) {
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer())
    },
    async release() {},
    async close() {},
  }
}

const isStream = (s: unknown): s is ReadableStream<Uint8Array> => typeof (s as ReadableStream | null)?.getReader === 'function'
const isBlob = (s: unknown): s is BlobLike => typeof (s as BlobLike | null)?.slice === 'function' && typeof (s as BlobLike).size === 'number'

/** The source as readable-twice bytes; `spoolName` names the record file a stream is spooled to. */
export async function toByteSource(source: unknown, records: RecordFiles | undefined, spoolName: string): Promise<ByteSource> {
  if (source instanceof Uint8Array) return bytesSource(source)
  if (source instanceof ArrayBuffer) return bytesSource(new Uint8Array(source))
  if (isStream(source)) return spoolStream(source, records, spoolName)
  if (isBlob(source)) return blobSource(source)
  throw new TiermemError('INVALID_OPTION', 'a backup source is a Uint8Array, an ArrayBuffer, a Blob or a ReadableStream of Uint8Array')
}

/**
 * Reads a stream to its end into fixed-width spool records (or into memory where there are no
 * record files: the in-process memory, whose stores are in memory anyway). Holds one chunk.
 */
export async function spoolStream(stream: ReadableStream<Uint8Array>, records: RecordFiles | undefined, name: string): Promise<ByteSource> {
  const file: RecordFile | undefined = records ? await records(name, SPOOL_CHUNK + 4) : undefined
  // A spool of the same name left by an earlier run starts empty.
  await file?.truncate(0)
  const held: Uint8Array[] = []
  const chunk = new Uint8Array(SPOOL_CHUNK + 4)
  let filled = 0
  let count = 0
  let size = 0
  const emit = async () => {
    new DataView(chunk.buffer).setUint32(0, filled, true)
    if (file) await file.write([{ index: count, bytes: chunk }])
    else held.push(chunk.slice(4, 4 + filled))
    count++
    filled = 0
  }
  const reader = stream.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (!(value instanceof Uint8Array)) throw new TiermemError('INVALID_OPTION', 'a backup stream yields Uint8Array chunks')
      for (let at = 0; at < value.byteLength;) {
        const take = Math.min(SPOOL_CHUNK - filled, value.byteLength - at)
        chunk.set(value.subarray(at, at + take), 4 + filled)
        filled += take
        at += take
        size += take
        if (filled === SPOOL_CHUNK) await emit()
      }
    }
    if (filled > 0) await emit()
  } catch (error) {
    await file?.truncate(0).finally(() => file.close())
    throw error
  } finally {
    reader.releaseLock()
  }
  if (!file) return spooledInMemory(held, size)
  return spoolReader(file, size)
}

/** Reopens a spool file written earlier (a snapshot), `size` bytes long. */
export async function openSpool(records: RecordFiles, name: string, size: number): Promise<ByteSource> {
  return spoolReader(await records(name, SPOOL_CHUNK + 4), size)
}

function spoolReader(file: RecordFile, size: number): ByteSource {
  return {
    size,
    async read(offset, length) {
      const out = new Uint8Array(length)
      const first = Math.floor(offset / SPOOL_CHUNK)
      const last = Math.floor((offset + length - 1) / SPOOL_CHUNK)
      const indices = Array.from({ length: length === 0 ? 0 : last - first + 1 }, (_, i) => first + i)
      const got = await file.read(indices)
      let written = 0
      got.forEach((record, i) => {
        if (!record) throw invalid('the spooled backup could not be read back')
        const used = new DataView(record.buffer, record.byteOffset).getUint32(0, true)
        const start = i === 0 ? offset - first * SPOOL_CHUNK : 0
        const take = Math.min(used - start, length - written)
        out.set(record.subarray(4 + start, 4 + start + take), written)
        written += take
      })
      return out
    },
    async release() {
      await file.truncate(0)
      await file.close()
    },
    async close() {
      await file.close()
    },
  }
}

function spooledInMemory(chunks: Uint8Array[], size: number): ByteSource {
  return {
    size,
    async read(offset, length) {
      const out = new Uint8Array(length)
      let written = 0
      for (let i = Math.floor(offset / SPOOL_CHUNK); written < length && i < chunks.length; i++) {
        const start = i * SPOOL_CHUNK
        const from = Math.max(0, offset + written - start)
        const piece = chunks[i]!.subarray(from, from + length - written)
        out.set(piece, written)
        written += piece.byteLength
      }
      return out
    },
    async release() {
      chunks.length = 0
    },
    async close() {},
  }
}

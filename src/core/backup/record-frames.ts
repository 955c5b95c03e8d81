import {
  checkFrameMeta,
  invalid,
  MAX_META_BYTES,
  MAX_VALUE_BYTES,
  parseBackupJson,
  RECORD_FILE_MAGIC,
  RECORD_FILE_TARGET,
  RECORD_FILE_VERSION,
  type FrameMeta,
} from './backup-format.ts'
import { utf8Into } from '../persistence/utf8-into.ts'

const decoder = new TextDecoder('utf-8', { fatal: true })
const HEADER = RECORD_FILE_MAGIC.length + 1

/**
 * Builds one record file: frames appended into one growing buffer (no array of pieces to join),
 * each frame's JSON encoded straight into it. A TextEncoder.encode() and a DataView a record were
 * ~45 of a 100k backup's ~300 MiB of garbage (measured).
 */
export class RecordFileBuilder {
  /**
   * Bytes of a builder's buffer: room for a whole file (writers close one once past
   * RECORD_FILE_TARGET). Growing from 64 KiB allocated ~4 MiB of buffers a 1 MiB file.
   */
  static readonly CAPACITY = RECORD_FILE_TARGET + 64 * 1024
  private buffer: Uint8Array
  private view: DataView
  private length = 0
  records = 0

  /** `reuse`: an earlier file's buffer of CAPACITY bytes, done with, to write this one in. */
  constructor(reuse?: ArrayBuffer) {
    this.buffer = reuse?.byteLength === RecordFileBuilder.CAPACITY ? new Uint8Array(reuse) : new Uint8Array(RecordFileBuilder.CAPACITY)
    this.view = new DataView(this.buffer.buffer)
    this.buffer.set(RECORD_FILE_MAGIC)
    this.buffer[RECORD_FILE_MAGIC.length] = RECORD_FILE_VERSION
    this.length = HEADER
  }

  get bytes(): number {
    return this.length
  }

  /** A record: its metadata, or that metadata already as JSON (made where the entry was read, so the object dies young), and its value. */
  add(meta: FrameMeta | string, value: Uint8Array | undefined): void {
    const json = typeof meta === 'string' ? meta : JSON.stringify(meta)
    const valueLength = value?.byteLength ?? 0
    // UTF-8 takes at most three bytes for a UTF-16 unit.
    this.reserve(8 + 3 * json.length + valueLength)
    const written = utf8Into(json, this.buffer, this.length + 4)
    this.view.setUint32(this.length, written, true)
    this.length += 4 + written
    this.view.setUint32(this.length, valueLength, true)
    if (value) this.buffer.set(value, this.length + 4)
    this.length += 4 + valueLength
    this.records++
  }

  /** The file's bytes; the builder is done with. */
  finish(): Uint8Array {
    return this.buffer.subarray(0, this.length)
  }

  private reserve(more: number): void {
    if (this.length + more <= this.buffer.byteLength) return
    let size = this.buffer.byteLength * 2
    while (size < this.length + more) size *= 2
    const grown = new Uint8Array(size)
    grown.set(this.buffer.subarray(0, this.length))
    this.buffer = grown
    this.view = new DataView(grown.buffer)
  }
}

export interface Frame {
  meta: FrameMeta
  value: Uint8Array
}

/** The frames of a record file, each checked for shape and size; anything off is BACKUP_INVALID. */
export function* readFrames(bytes: Uint8Array, name: string): Generator<Frame> {
  if (bytes.byteLength < HEADER || RECORD_FILE_MAGIC.some((b, i) => bytes[i] !== b)) throw invalid(`'${name}' is not a tiermem record file`)
  if (bytes[RECORD_FILE_MAGIC.length] !== RECORD_FILE_VERSION) throw invalid(`'${name}' is of record file version ${bytes[RECORD_FILE_MAGIC.length]}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let at = HEADER
  while (at < bytes.byteLength) {
    if (at + 4 > bytes.byteLength) throw invalid(`'${name}' ends inside a record`)
    const metaLength = view.getUint32(at, true)
    if (metaLength > MAX_META_BYTES) throw invalid(`'${name}' has a record whose metadata is over the size limit`)
    if (at + 4 + metaLength + 4 > bytes.byteLength) throw invalid(`'${name}' ends inside a record`)
    let text: string
    try {
      text = decoder.decode(bytes.subarray(at + 4, at + 4 + metaLength))
    } catch {
      throw invalid(`'${name}' has a record whose metadata is not UTF-8`)
    }
    const meta = checkFrameMeta(parseBackupJson(text, `a record of '${name}'`))
    at += 4 + metaLength
    const valueLength = view.getUint32(at, true)
    if (valueLength > MAX_VALUE_BYTES) throw invalid(`'${name}' has a record over the size limit (${valueLength} bytes)`)
    if (at + 4 + valueLength > bytes.byteLength) throw invalid(`'${name}' ends inside a record`)
    if (meta.op === 'delete' && valueLength !== 0) throw invalid(`'${name}' has a delete record with a value`)
    yield { meta, value: bytes.subarray(at + 4, at + 4 + valueLength) }
    at += 4 + valueLength
  }
}

import { TiermemError } from '../api/errors.ts'

/**
 * The backup format (docs/backup-format.md), version 1: a zip holding record files, then
 * `manifest.json`, then `manifest.sha256`. The same bytes in the browser, Node and the edge.
 *
 * A record file is `TMBK` and a version byte, then frames: u32 LE length of a metadata JSON
 * object, the JSON (UTF-8), u32 LE length of the value, the value (tiermem's value codec, as
 * every tier stores it). A delete frame has `"op": "delete"` and an empty value.
 */
export const BACKUP_FORMAT = 'tiermem-backup'
export const BACKUP_VERSION = 1
export const MANIFEST_NAME = 'manifest.json'
export const MANIFEST_HASH_NAME = 'manifest.sha256'
export const RECORDS_DIR = 'records/'
export const RECORD_FILE_MAGIC = [0x54, 0x4d, 0x42, 0x4b] as const // 'TMBK'
export const RECORD_FILE_VERSION = 1

/** A record file is closed once it holds this many bytes (a larger value gets a file of its own). */
export const RECORD_FILE_TARGET = 1 << 20
/** The largest value one record may carry, and so the most one record file inflates to (a zip bomb is refused before it inflates). */
export const MAX_VALUE_BYTES = 256 * 1024 * 1024
export const MAX_META_BYTES = 64 * 1024
export const MAX_RECORD_FILE_BYTES = MAX_VALUE_BYTES + MAX_META_BYTES + 16
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024

export interface ManifestFile {
  name: string
  /** SHA-256 of the file's bytes (uncompressed), 64 hex digits. */
  sha256: string
  bytes: number
  records: number
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT
  version: number
  id: string
  /** The backup this one holds the changes since (incremental), or null (full). */
  parentId: string | null
  kind: 'full' | 'incremental'
  createdAt: number
  /** Change numbers: a full backup holds every change up to `to`; an incremental those above `from`. */
  seq: { from: number; to: number }
  counts: { entries: number; deletes: number; valueBytes: number; damaged: number }
  files: ManifestFile[]
}

/** What a put frame's metadata holds: the entry as it was, without the running session's state (holds, placement by recency). */
export interface RecordMeta {
  op?: 'put'
  ns: string
  key: string
  type: string
  layer: string
  tier: 'hot' | 'warm' | 'cold'
  importance: number
  relevance: number
  createdAt: number
  lastAccessedAt: number
  accessCount: number
  /** Absolute expiry (ms since the epoch), or null for none. */
  expiresAt: number | null
  /** The TTL asked for at put, or null for the layer's. */
  ttlMs: number | null
  taskId?: string
  tags?: string[]
  evictable: boolean
  /** The entry's content hash (16 hex digits) over the value bytes. */
  hash: string
}

export interface DeleteMeta {
  op: 'delete'
  ns: string
  key: string
}

export type FrameMeta = RecordMeta | DeleteMeta

export const invalid = (message: string) => new TiermemError('BACKUP_INVALID', `${message}; nothing was written`)

const HEX64 = /^[0-9a-f]{64}$/
const HEX16 = /^[0-9a-f]{16}$/
const ID = /^[0-9a-z-]{8,64}$/
const FILE_NAME = /^records\/[0-9]{6}\.rec$/
const PUT_KEYS = new Set([
  'op',
  'ns',
  'key',
  'type',
  'layer',
  'tier',
  'importance',
  'relevance',
  'createdAt',
  'lastAccessedAt',
  'accessCount',
  'expiresAt',
  'ttlMs',
  'taskId',
  'tags',
  'evictable',
  'hash',
])
const MANIFEST_KEYS = new Set(['format', 'version', 'id', 'parentId', 'kind', 'createdAt', 'seq', 'counts', 'files'])

/**
 * Parses JSON from a backup, refusing any object with a `__proto__` (or `constructor`,
 * `prototype`) key: JSON.parse makes it an own property, but code that copies the object later
 * (a spread, Object.assign) would set the prototype from it. Record metadata is flat and its keys
 * are checked against a list (checkFrameMeta); the manifest is walked (`deep`).
 */
export function parseBackupJson(text: string, what: string, deep = false): unknown {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw invalid(`${what} is not valid JSON (${(error as Error).message})`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid(`${what} is not a JSON object`)
  if (deep) refuseUnsafeKeys(parsed, what)
  return parsed
}

const UNSAFE_KEYS = ['__proto__', 'constructor', 'prototype']

function refuseUnsafeKeys(value: unknown, what: string): void {
  if (typeof value !== 'object' || value === null) return
  for (const key of UNSAFE_KEYS) if (Object.hasOwn(value, key)) throw invalid(`${what} has a '${key}' key`)
  for (const child of Object.values(value)) refuseUnsafeKeys(child, what)
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
const isTime = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0

/** The manifest, checked field by field: anything unknown or out of range is BACKUP_INVALID. */
export function checkManifest(value: unknown): BackupManifest {
  const m = value as Record<string, unknown>
  for (const name of Object.keys(m)) if (!MANIFEST_KEYS.has(name)) throw invalid(`the manifest has an unknown field '${name}'`)
  if (m.format !== BACKUP_FORMAT) throw invalid(`this is not a tiermem backup (format ${JSON.stringify(m.format)})`)
  if (m.version !== BACKUP_VERSION) {
    throw invalid(`the backup is of format version ${JSON.stringify(m.version)}; this tiermem reads version ${BACKUP_VERSION} (a newer tiermem wrote it?)`)
  }
  if (typeof m.id !== 'string' || !ID.test(m.id)) throw invalid('the manifest has no valid id')
  if (m.parentId !== null && (typeof m.parentId !== 'string' || !ID.test(m.parentId))) throw invalid('the manifest has an invalid parentId')
  if (m.kind !== 'full' && m.kind !== 'incremental') throw invalid(`the manifest has an unknown kind ${JSON.stringify(m.kind)}`)
  if ((m.kind === 'full') !== (m.parentId === null)) throw invalid('a full backup has no parent and an incremental one has one')
  if (!isTime(m.createdAt)) throw invalid('the manifest has no valid createdAt')
  const seq = m.seq as Record<string, unknown> | null
  if (typeof seq !== 'object' || seq === null || !isCount(seq.from) || !isCount(seq.to) || seq.from > seq.to)
    throw invalid('the manifest has no valid seq range')
  const counts = m.counts as Record<string, unknown> | null
  if (typeof counts !== 'object' || counts === null || !['entries', 'deletes', 'valueBytes', 'damaged'].every((k) => isCount(counts[k]))) {
    throw invalid('the manifest has no valid counts')
  }
  if (!Array.isArray(m.files)) throw invalid('the manifest lists no files')
  const names = new Set<string>()
  let records = 0
  for (const file of m.files as unknown[]) {
    const f = file as Record<string, unknown> | null
    if (typeof f !== 'object' || f === null || typeof f.name !== 'string' || !FILE_NAME.test(f.name) || names.has(f.name)) {
      throw invalid('the manifest lists a record file with an invalid or repeated name')
    }
    if (typeof f.sha256 !== 'string' || !HEX64.test(f.sha256)) throw invalid(`the manifest has no valid SHA-256 for ${f.name}`)
    if (!isCount(f.bytes) || f.bytes > MAX_RECORD_FILE_BYTES) throw invalid(`${f.name} is over the size limit of a record file`)
    if (!isCount(f.records)) throw invalid(`the manifest has no record count for ${f.name}`)
    names.add(f.name)
    records += f.records
  }
  const c = counts as BackupManifest['counts']
  if (records !== c.entries + c.deletes) throw invalid('the manifest counts do not add up to its files')
  return m as unknown as BackupManifest
}

/** A frame's metadata, checked: the shape only; whether this memory can take it is the restore's check. */
export function checkFrameMeta(value: unknown): FrameMeta {
  const m = value as Record<string, unknown>
  if (typeof m.ns !== 'string' || typeof m.key !== 'string') throw invalid('a record has no namespace or key')
  if (m.op === 'delete') {
    if (Object.keys(m).length !== 3) throw invalid('a delete record has fields other than op, ns and key')
    return m as unknown as DeleteMeta
  }
  for (const name of Object.keys(m)) if (!PUT_KEYS.has(name)) throw invalid(`a record has an unknown field '${name}'`)
  if (Object.hasOwn(m, '__proto__')) throw invalid("a record has a '__proto__' key")
  if (m.op !== undefined && m.op !== 'put') throw invalid(`a record has an unknown op ${JSON.stringify(m.op)}`)
  if (typeof m.type !== 'string' || typeof m.layer !== 'string') throw invalid('a record has no type or layer')
  if (m.tier !== 'hot' && m.tier !== 'warm' && m.tier !== 'cold') throw invalid('a record has no valid tier')
  const fraction = (n: unknown) => typeof n === 'number' && n >= 0 && n <= 1
  if (!fraction(m.importance) || !fraction(m.relevance)) throw invalid('a record has an importance or relevance outside 0..1')
  if (!isTime(m.createdAt) || !isTime(m.lastAccessedAt) || !isCount(m.accessCount)) throw invalid('a record has invalid access statistics')
  if (m.expiresAt !== null && !isTime(m.expiresAt)) throw invalid('a record has an invalid expiresAt')
  if (m.ttlMs !== null && !isTime(m.ttlMs)) throw invalid('a record has an invalid ttlMs')
  if (m.taskId !== undefined && typeof m.taskId !== 'string') throw invalid('a record has an invalid taskId')
  if (m.tags !== undefined && !(Array.isArray(m.tags) && m.tags.every((t) => typeof t === 'string'))) throw invalid('a record has invalid tags')
  if (typeof m.evictable !== 'boolean') throw invalid('a record has no evictable flag')
  if (typeof m.hash !== 'string' || !HEX16.test(m.hash)) throw invalid('a record has no valid content hash')
  return m as unknown as RecordMeta
}

export function isRecordFileName(name: string): boolean {
  return FILE_NAME.test(name)
}

export function recordFileName(index: number): string {
  return `${RECORDS_DIR}${String(index).padStart(6, '0')}.rec`
}

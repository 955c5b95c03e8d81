import { TiermemError } from '../api/errors.ts'
import { closedError, mutate } from '../api/calls.ts'
import type { RestoreResult } from '../api/types.ts'
import { checkRestoreOptions } from './backup-options.ts'
import { checkKey, checkNamespace, checkPutOptions } from '../api/validate.ts'
import type { EngineContext } from '../engine/engine-context.ts'
import { commitNow, preparePut, putsPerBatch, type PreparedPut } from '../engine/put-pipeline.ts'
import { removeEntries } from '../engine/removal.ts'
import { entryVectors, VECTOR_NAMESPACE } from '../embeddings/entry-vectors.ts'
import { decodeValue } from '../persistence/codec.ts'
import { formatHash, hashBytes } from '../persistence/content-hash.ts'
import { isReservedNamespace } from '../api/validate.ts'
import {
  invalid,
  isRecordFileName,
  MANIFEST_HASH_NAME,
  MANIFEST_NAME,
  MAX_MANIFEST_BYTES,
  parseBackupJson,
  checkManifest,
  type BackupManifest,
  type RecordMeta,
} from './backup-format.ts'
import { toByteSource, type ByteSource } from './byte-source.ts'
import { readFrames } from './record-frames.ts'
import { readCheckedMember, readZipDirectory, readZipMember, type ZipMember } from './zip-reader.ts'
import { readAhead } from './read-ahead.ts'
import { inflateHere } from './inflate-checked.ts'
import { TimeSlices } from '../engine/time-slices.ts'

/** Puts per atomic commit while applying: each is one unit, all of it lands or none. */
const APPLY_CHUNK = 512

/** Spool names of the restores running now, per memory. */
const spoolsInUse = new WeakMap<EngineContext, Set<string>>()

function claimSpoolName(ctx: EngineContext): string {
  let used = spoolsInUse.get(ctx)
  if (!used) spoolsInUse.set(ctx, (used = new Set()))
  let n = 0
  while (used.has(`restore-${n}`)) n++
  used.add(`restore-${n}`)
  return `restore-${n}`
}

/** One backup of the chain, checked: its manifest and where its record files are. */
interface Verified {
  source: ByteSource
  manifest: BackupManifest
  files: ZipMember[]
}

/**
 * `mem.restoreBackup()`. Two passes over the sources: the first checks everything (the zip, the
 * manifest's checksum, every record file's SHA-256, every record's shape, limits and content
 * hash, that this memory can take it, the chain's order) and writes nothing; the second applies
 * the backups up to `until`, in order, in atomic chunks, as one call in issue order.
 */
export function restoreBackup(ctx: EngineContext, sources: unknown, options: unknown): Promise<RestoreResult> {
  if (ctx.closing) return Promise.reject(closedError())
  let checked: ReturnType<typeof checkRestoreOptions>
  try {
    checked = checkRestoreOptions(options)
  } catch (error) {
    return Promise.reject(error)
  }
  const { mode, until, onProgress } = checked
  const list = Array.isArray(sources) ? sources : [sources]
  if (list.length === 0) return Promise.reject(new TiermemError('INVALID_OPTION', 'restoreBackup needs at least one backup'))
  const opened: ByteSource[] = []
  const spools: string[] = []
  // Checking starts now, beside whatever runs; the restore takes its place in issue order at
  // once, so writes issued after it land after it (they wait while it is checked and applied).
  const checking = (async () => {
    for (const source of list) {
      // A spool of its own: two restores running at once must never read each other's bytes.
      const name = claimSpoolName(ctx)
      spools.push(name)
      opened.push(await toByteSource(source, ctx.records, name))
    }
    const chain: Verified[] = []
    for (const source of opened) chain.push(await verify(ctx, source))
    checkChain(chain)
    const applied = until === undefined ? chain : chain.filter((b) => b.manifest.createdAt <= until)
    if (applied.length === 0) {
      throw new TiermemError(
        'INVALID_OPTION',
        `the chain's full backup was made after until (${new Date(chain[0]!.manifest.createdAt).toISOString()}); nothing to restore`,
      )
    }
    return applied
  })()
  checking.catch(() => undefined)
  const restored = mutate(ctx, 'all', async () => {
    const applied = await checking
    const total = applied.reduce((n, b) => n + b.manifest.counts.entries + b.manifest.counts.deletes, 0)
    return apply(ctx, applied, mode, total, onProgress)
  })
  const release = async () => {
    await Promise.all(opened.map((source) => source.release().catch(() => undefined)))
    for (const name of spools) spoolsInUse.get(ctx)?.delete(name)
  }
  return restored.then(
    async (result) => (await release(), result),
    async (error: unknown) => {
      await checking.catch(() => undefined)
      await release()
      throw error
    },
  )
}

async function verify(ctx: EngineContext, source: ByteSource): Promise<Verified> {
  const members = await readZipDirectory(source)
  const byName = new Map<string, ZipMember>()
  for (const member of members) {
    if (byName.has(member.name)) throw invalid(`the backup holds '${member.name}' twice`)
    byName.set(member.name, member)
  }
  const manifestMember = byName.get(MANIFEST_NAME)
  const hashMember = byName.get(MANIFEST_HASH_NAME)
  if (!manifestMember || !hashMember) throw invalid('the backup has no manifest (truncated, or not a tiermem backup)')
  // Read here, never through ctx.inflate: the manifest is small, and its hash comes with it.
  const { bytes: manifestBytes, sha256 } = await readCheckedMember(source, manifestMember, inflateHere, MAX_MANIFEST_BYTES)
  const expected = new TextDecoder().decode(await readZipMember(source, hashMember, 128)).trim()
  if (sha256 !== expected) throw invalid('the manifest does not match its checksum (tampered or damaged)')
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(manifestBytes)
  } catch {
    throw invalid('the manifest is not UTF-8')
  }
  const manifest = checkManifest(parseBackupJson(text, 'the manifest', true))
  const listed = new Set(manifest.files.map((f) => f.name))
  for (const name of byName.keys()) {
    if (name !== MANIFEST_NAME && name !== MANIFEST_HASH_NAME && !(isRecordFileName(name) && listed.has(name)))
      throw invalid(`the backup holds '${name}', which its manifest does not list`)
  }
  const files: ZipMember[] = []
  const counted = { entries: 0, deletes: 0, valueBytes: 0 }
  for (const file of manifest.files) {
    if (!byName.has(file.name)) throw invalid(`the backup is missing '${file.name}' (truncated?)`)
    files.push(byName.get(file.name)!)
  }
  const inflate = ctx.inflate ?? inflateHere
  const checkedFiles = readAhead(files, async (member, f) => {
    const file = manifest.files[f]!
    const { bytes, sha256 } = await readCheckedMember(source, member, inflate)
    if (bytes.byteLength !== file.bytes || sha256 !== file.sha256)
      throw invalid(`'${file.name}' does not match its SHA-256 in the manifest (tampered or damaged)`)
    return bytes
  })
  // Checking runs beside the calls issued before the restore (those after it wait for it): in
  // slices, so they go on between a file's records.
  const slices = new TimeSlices()
  let f = 0
  for await (const bytes of checkedFiles) {
    const file = manifest.files[f++]!
    let records = 0
    for (const { meta, value } of readFrames(bytes, file.name)) {
      const pause = slices.pace()
      if (pause) await pause
      records++
      if (meta.op === 'delete') {
        checkTarget(meta.ns, meta.key)
        counted.deletes++
        continue
      }
      checkRestorable(ctx, meta, value)
      counted.entries++
      counted.valueBytes += value.byteLength
    }
    if (records !== file.records) throw invalid(`'${file.name}' holds ${records} records; its manifest says ${file.records}`)
  }
  const c = manifest.counts
  if (counted.entries !== c.entries || counted.deletes !== c.deletes || counted.valueBytes !== c.valueBytes)
    throw invalid('the records do not add up to the manifest counts')
  return { source, manifest, files }
}

/** A record's namespace and key, as the memory would take them: users' namespaces and entries' vectors only. */
function checkTarget(namespace: string, key: string): void {
  try {
    checkKey(key)
    if (namespace !== VECTOR_NAMESPACE) checkNamespace(namespace)
  } catch (error) {
    throw invalid(`a record names an entry this memory cannot hold (${(error as Error).message})`)
  }
}

/** Everything a put of this record would refuse, refused now, before anything is written. */
function checkRestorable(ctx: EngineContext, meta: RecordMeta, value: Uint8Array): void {
  checkTarget(meta.ns, meta.key)
  try {
    checkPutOptions(putOptions(meta))
  } catch (error) {
    throw invalid(`record '${meta.key}' has metadata this memory refuses (${(error as Error).message})`)
  }
  if (!ctx.policy.layers[meta.layer]) {
    throw invalid(
      `record '${meta.key}' is in layer '${meta.layer}', which this memory does not configure (configured: ${Object.keys(ctx.policy.layers).join(', ')})`,
    )
  }
  const { hi, lo } = hashBytes(value)
  if (formatHash(hi, lo) !== meta.hash) throw invalid(`record '${meta.key}' does not match its content hash`)
  try {
    decodeValue(value)
  } catch {
    throw invalid(`record '${meta.key}' holds a value this tiermem cannot decode`)
  }
}

function putOptions(meta: RecordMeta) {
  return {
    type: meta.type,
    layer: meta.layer,
    importance: meta.importance,
    relevance: meta.relevance,
    tier: meta.tier === 'cold' ? ('cold' as const) : ('warm' as const),
    evictable: meta.evictable,
    ...(meta.ttlMs !== null ? { ttlMs: meta.ttlMs } : {}),
    ...(meta.taskId !== undefined ? { taskId: meta.taskId } : {}),
    ...(meta.tags !== undefined ? { tags: meta.tags } : {}),
  }
}

/** A full backup first, then each incremental naming the one before it as its parent. */
function checkChain(chain: Verified[]): void {
  chain.forEach(({ manifest }, i) => {
    if (i === 0) {
      if (manifest.kind !== 'full') throw invalid(`the first backup given (${manifest.id}) is incremental; a chain starts with a full backup`)
      return
    }
    const before = chain[i - 1]!.manifest
    if (manifest.kind !== 'incremental' || manifest.parentId !== before.id) {
      throw invalid(
        `backup ${i + 1} (${manifest.id}) does not follow backup ${i} (${before.id}): give a full backup and its incrementals in the order they were made`,
      )
    }
  })
}

async function apply(
  ctx: EngineContext,
  chain: Verified[],
  mode: 'merge' | 'replace',
  total: number,
  onProgress: ((done: number, total: number) => void) | undefined,
): Promise<RestoreResult> {
  const { reg } = ctx
  const result: RestoreResult = { restored: 0, deleted: 0, expired: 0, backups: [] }
  if (mode === 'replace') {
    const slots = [...reg.slots()].filter((slot) => !isReservedNamespace(reg.namespaces[slot]!) || reg.namespaces[slot] === VECTOR_NAMESPACE)
    for (let i = 0; i < slots.length; i += APPLY_CHUNK) await removeEntries(ctx, slots.slice(i, i + APPLY_CHUNK), 'manual')
    result.deleted += slots.length
  }
  const chunk = Math.min(APPLY_CHUNK, putsPerBatch(ctx))
  let done = 0
  let puts: PreparedPut[] = []
  let deletes: number[] = []
  /** Store keys in the current chunk: a key met again goes in the next one, so records apply in their order. */
  const inChunk = new Set<string>()
  const flush = async () => {
    if (puts.length > 0) {
      if (puts.some((p) => p.namespace === VECTOR_NAMESPACE)) entryVectors(ctx).watch()
      await commitNow(ctx, puts)
      result.restored += puts.length
    }
    if (deletes.length > 0) {
      await removeEntries(ctx, deletes, 'manual')
      result.deleted += deletes.length
    }
    puts = []
    deletes = []
    inChunk.clear()
    onProgress?.(done, total)
  }
  const inflate = ctx.inflate ?? inflateHere
  for (const { source, manifest, files } of chain) {
    const now = ctx.clock.now()
    const rechecked = readAhead(files, async (member, f) => {
      const { bytes, sha256 } = await readCheckedMember(source, member, inflate)
      // Read again, so checked again: bytes that changed since the first pass (a caller's buffer
      // reused meanwhile) are refused, never written unchecked.
      if (sha256 !== manifest.files[f]!.sha256) {
        throw new TiermemError(
          'BACKUP_INVALID',
          `'${member.name}' changed after it was checked (was the source modified during the restore?); what was applied before it stays: restore again`,
        )
      }
      return { bytes, name: member.name }
    })
    for await (const { bytes, name } of rechecked) {
      for (const { meta, value } of readFrames(bytes, name)) {
        const storeKey = `${meta.ns}\u0000${meta.key}`
        if (inChunk.has(storeKey)) await flush()
        inChunk.add(storeKey)
        done++
        const expired = meta.op !== 'delete' && meta.expiresAt !== null && meta.expiresAt <= now
        if (meta.op === 'delete' || expired) {
          // Gone in the backup, or expired since: the memory holds no value of it from this chain.
          const slot = reg.find(meta.ns, meta.key)
          if (slot >= 0) deletes.push(slot)
          if (expired) result.expired++
        } else {
          const options = { ...putOptions(meta), namespace: meta.ns }
          const put = preparePut(ctx, meta.key, undefined, options, undefined, value, meta.ns === VECTOR_NAMESPACE)
          if (meta.ns === VECTOR_NAMESPACE) put.alone = true
          put.restored = {
            createdAt: meta.createdAt,
            lastAccessedAt: meta.lastAccessedAt,
            accessCount: meta.accessCount,
            expiresAt: meta.expiresAt ?? Number.POSITIVE_INFINITY,
          }
          puts.push(put)
        }
        if (puts.length + deletes.length >= chunk) await flush()
      }
    }
    await flush()
    result.backups.push({ id: manifest.id, kind: manifest.kind, createdAt: manifest.createdAt })
  }
  return result
}

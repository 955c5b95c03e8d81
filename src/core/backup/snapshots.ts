import { TiermemError } from '../api/errors.ts'
import type { AutoBackupOptions, SnapshotInfo } from '../api/types.ts'
import { reportBackgroundError, type EngineContext } from '../engine/engine-context.ts'
import { enqueuePuts, preparePut } from '../engine/put-pipeline.ts'
import { readManyNow } from '../engine/read-path.ts'
import { EMBEDDING_LAYER } from '../embeddings/embedding-cache.ts'
import { decodeValue } from '../persistence/codec.ts'
import { BACKUP_NAMESPACE } from './backup-state.ts'
import { openBackupStream } from './backup-writer.ts'
import { openSpool, spoolStream } from './byte-source.ts'
import { isReservedNamespace } from '../api/validate.ts'
import { VECTOR_NAMESPACE } from '../embeddings/entry-vectors.ts'
import { memoryRecordFiles, type RecordFiles } from '../store/record-file.ts'

/**
 * Automatic snapshots (`backup.auto`, seed 004's "snapshot"): a full backup kept beside the
 * memory's own files (an OPFS record file in the browser) every `intervalMs` when something
 * changed, and at close; the newest `keep` are kept. A safety net against a bad write or a bug,
 * not against eviction: the browser deletes them with the memory (docs/backup-format.md says
 * how to keep a copy elsewhere). Listed by `snapshots()`, read back by `readSnapshot(id)` as a
 * backup stream to download or restore.
 */
const LIST_KEY = 'snapshots'
const READ_CHUNK = 256 * 1024

export function checkAutoBackup(options: unknown): Required<AutoBackupOptions> | undefined {
  if (options === undefined) return undefined
  const o = options as AutoBackupOptions
  if (typeof o !== 'object' || o === null) throw new TiermemError('INVALID_OPTION', 'backup.auto takes { intervalMs, keep, onClose? }')
  for (const name of Object.keys(o)) {
    if (!['intervalMs', 'keep', 'onClose'].includes(name))
      throw new TiermemError('INVALID_OPTION', `unknown backup.auto option '${name}'; known: intervalMs, keep, onClose`)
  }
  if (typeof o.intervalMs !== 'number' || !(o.intervalMs >= 1000)) throw new TiermemError('INVALID_OPTION', 'backup.auto.intervalMs is a number of ms ≥ 1,000')
  if (!Number.isInteger(o.keep) || o.keep < 1 || o.keep > 100) throw new TiermemError('INVALID_OPTION', 'backup.auto.keep is an integer 1..100')
  if (o.onClose !== undefined && typeof o.onClose !== 'boolean') throw new TiermemError('INVALID_OPTION', 'backup.auto.onClose must be a boolean')
  return { intervalMs: o.intervalMs, keep: o.keep, onClose: o.onClose ?? true }
}

export class Snapshots {
  /**
   * Something a backup holds changed since the last snapshot (this session). Followed on the
   * change feed, not by its numbers: a snapshot's own writes (its list) take numbers too, and
   * must not count as a change, or every interval would take another.
   */
  private dirty = false
  /** Where snapshot files are: the platform's record files, or memory (in-process, where the stores are in memory too). */
  private readonly records: RecordFiles

  constructor(
    private readonly ctx: EngineContext,
    /** backup.auto; without it nothing is taken, and snapshots taken before can still be listed and read. */
    readonly auto: Required<AutoBackupOptions> | undefined,
  ) {
    this.records = ctx.records ?? memoryRecordFiles()
    if (auto) {
      ctx.feed.subscribe(
        (change) => {
          if (!isReservedNamespace(change.namespace) || change.namespace === VECTOR_NAMESPACE) this.dirty = true
        },
        ['put', 'delete', 'layer'],
      )
      ctx.timers.every(auto.intervalMs, async () => {
        if (ctx.closing) return
        await this.takeIfChanged().catch((error: unknown) => reportBackgroundError(ctx, 'snapshot-failed', error))
      })
    }
  }

  async list(): Promise<SnapshotInfo[]> {
    const [list] = await readManyNow(this.ctx, BACKUP_NAMESPACE, [LIST_KEY], decodeValue, false).catch(() => [undefined])
    return Array.isArray(list) ? (list as SnapshotInfo[]) : []
  }

  private taking: Promise<unknown> = Promise.resolve()

  /**
   * A snapshot now if anything durable changed since the last one; resolves to it, or undefined.
   * One at a time: the one at close may come while the timer's is still streaming.
   */
  takeIfChanged(): Promise<SnapshotInfo | undefined> {
    const run = this.taking.then(() => this.take())
    this.taking = run.catch(() => undefined)
    return run
  }

  private async take(): Promise<SnapshotInfo | undefined> {
    const { ctx } = this
    if (ctx.closed || !this.dirty) return undefined
    // Cleared before reading: a change while the snapshot streams makes the next one.
    this.dirty = false
    const seq = ctx.feed.nextSeq
    const list = await this.list()
    const file = `snapshot-${seq}`
    // A snapshot is not part of the app's backup chain: it leaves the incremental state alone.
    const stream = await openBackupStream(ctx, undefined, false)
    const spooled = await spoolStream(stream, this.records, file)
    await spooled.close()
    const info: SnapshotInfo = { id: file, createdAt: ctx.clock.now(), bytes: spooled.size, seq }
    const kept = [...list.filter((s) => s.id !== file), info]
    const dropped = kept.splice(0, Math.max(0, kept.length - (this.auto?.keep ?? 1)))
    await this.saveList(kept)
    for (const old of dropped) await (await openSpool(this.records, old.id, old.bytes)).release()
    return info
  }

  /** A snapshot's bytes as a backup stream. */
  async read(id: unknown): Promise<ReadableStream<Uint8Array>> {
    const info = (await this.list()).find((s) => s.id === id)
    if (!info) throw new TiermemError('NOT_FOUND', `no snapshot '${String(id)}'; snapshots() lists them`)
    const source = await openSpool(this.records, info.id, info.bytes)
    let at = 0
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (at >= source.size) {
          controller.close()
          await source.close()
          return
        }
        const length = Math.min(READ_CHUNK, source.size - at)
        controller.enqueue(await source.read(at, length))
        at += length
      },
      async cancel() {
        await source.close()
      },
    })
  }

  private async saveList(list: SnapshotInfo[]): Promise<void> {
    const put = preparePut(
      this.ctx,
      LIST_KEY,
      list,
      { namespace: BACKUP_NAMESPACE, layer: EMBEDDING_LAYER, type: 'snapshot-list', tier: 'warm', evictable: false },
      undefined,
      undefined,
      true,
    )
    await enqueuePuts(this.ctx, [put])
  }
}

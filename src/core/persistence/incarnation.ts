import { TiermemError } from '../api/errors.ts'
import { randomId } from '../engine/random-id.ts'
import type { MemoryEvents, MemoryStats, StorageWitness, WitnessRecord } from '../api/types.ts'
import { reportBackgroundError, type EngineContext } from '../engine/engine-context.ts'
import { decodeValue, encodeValue } from './codec.ts'

/**
 * Telling an evicted memory from a new one. Browsers delete best-effort storage under pressure
 * (IndexedDB and OPFS of the origin together), and a memory that opens empty afterwards looks
 * exactly like a new one: the classic silent loss (Dexie#958). So the warm store holds an
 * incarnation (an id made when the store was first used), and a witness kept where that
 * eviction does not reach (the page's localStorage in Chromium, or the app's own: a server, a
 * native shell) remembers the last incarnation it saw. At open: a witness that names an
 * incarnation, and stores that hold none (empty, a new one made just now), is an eviction.
 */
const INCARNATION_KEY = 'incarnation'

interface Incarnation {
  id: string
  createdAt: number
}

export interface StorageState {
  incarnation: Incarnation
  /** The stores held no incarnation at open: a new memory, or an evicted one (the witness tells which). */
  fresh: boolean
  evicted: MemoryStats['storage']['evicted']
  /** What went wrong with the witness at open (raised to the first alert handlers, like the eviction). */
  failures: Array<MemoryEvents['alert']>
}

const states = new WeakMap<EngineContext, StorageState>()

/** Reads (or makes) the stores' incarnation and compares it with the witness; raises the alert. At open, before any write. */
export async function checkIncarnation(ctx: EngineContext, witness: StorageWitness | undefined): Promise<void> {
  const [bytes] = await ctx.warm.getMany('meta', [INCARNATION_KEY])
  let incarnation = bytes ? readIncarnation(bytes) : undefined
  const fresh = incarnation === undefined && ctx.reg.size === 0
  if (!incarnation) {
    incarnation = { id: randomId(12), createdAt: ctx.clock.now() }
    // Written with the first change the memory journals: an open alone writes nothing, and a
    // memory that never stored anything has nothing to lose to an eviction.
    ctx.journal.riders.push({ type: 'put', space: 'meta', key: INCARNATION_KEY, value: encodeValue(incarnation) })
  }
  const state: StorageState = { incarnation, fresh, evicted: null, failures: [] }
  states.set(ctx, state)
  if (!witness) return
  let seen: WitnessRecord | undefined
  try {
    seen = await witness.read()
  } catch (error) {
    state.failures.push(witnessFailure('witness-read-failed', error))
    return
  }
  // A memory that held nothing had nothing to lose (and never wrote its incarnation).
  if (seen && seen.entries > 0 && seen.incarnation !== incarnation.id && fresh) {
    state.evicted = { detectedAt: ctx.clock.now(), lastOpenedAt: seen.lastOpenedAt, entriesThen: seen.entries, previousIncarnation: seen.incarnation }
  }
  await recordWitness(ctx, witness, (error) => state.failures.push(witnessFailure('witness-write-failed', error)))
}

function witnessFailure(name: string, error: unknown): MemoryEvents['alert'] {
  return {
    name,
    severity: 'warning',
    detail: { message: `the storage witness failed, so an eviction cannot be told from a new memory: ${String(error)}`, error },
  }
}

/** What the witness keeps: this incarnation and how much it held (at open and at close). */
export async function recordWitness(
  ctx: EngineContext,
  witness: StorageWitness | undefined,
  failed = (error: unknown) => reportBackgroundError(ctx, 'witness-write-failed', error),
): Promise<void> {
  const state = states.get(ctx)
  if (!witness || !state) return
  try {
    await witness.write({ incarnation: state.incarnation.id, lastOpenedAt: ctx.clock.now(), entries: ctx.reg.size })
  } catch (error) {
    failed(error)
  }
}

/** The alert an eviction raises, handed to each alert handler once it subscribes (it happened before anyone could listen). */
export function storageAlerts(ctx: EngineContext): Array<MemoryEvents['alert']> {
  const state = states.get(ctx)
  const evicted = state?.evicted
  if (!evicted) return state?.failures ?? []
  return [
    ...state.failures,
    {
      name: 'storage-evicted',
      severity: 'critical',
      detail: {
        message:
          `this memory held ${evicted.entriesThen} entries when it was last opened (${new Date(evicted.lastOpenedAt).toISOString()}) and opens empty: ` +
          'the browser deleted its storage. Restore your last backup (restoreBackup), and ask for persistent storage (requestPersistence) to make this less likely.',
        ...evicted,
      },
    },
  ]
}

export function storageStats(ctx: EngineContext): MemoryStats['storage'] {
  const state = states.get(ctx)
  if (!state) throw new TiermemError('CLOSED', 'the memory is not open')
  return { incarnation: state.incarnation.id, createdAt: state.incarnation.createdAt, fresh: state.fresh, evicted: state.evicted }
}

function readIncarnation(bytes: Uint8Array): Incarnation | undefined {
  try {
    const value = decodeValue(bytes) as Incarnation
    return typeof value?.id === 'string' && typeof value.createdAt === 'number' ? value : undefined
  } catch {
    return undefined
  }
}

import type { StoreOp } from '../store/store.ts'

/** Where the registry journal stands (see journal.ts). */
export interface JournalState {
  nextSeq: number
  gen: number
  /** The last journal seq the snapshot in force contains. */
  checkpointSeq: number
  /** Parts of the snapshot in force. */
  parts: number
  /** Changes journaled since that checkpoint: the next one is due when they outgrow the registry. */
  entriesSince: number
  /** Meta keys a checkpoint failed to delete: the next checkpoint deletes them with its own. */
  leftovers: string[]
  /** The change feed's high-water mark found at open: every durable change so far has a lower number. */
  feedSeq: number
  /** Meta records to write with the next journal chunk (a new memory's incarnation): opening writes nothing by itself. */
  riders: StoreOp[]
}

export function newJournalState(): JournalState {
  return { nextSeq: 1, gen: 0, checkpointSeq: 0, parts: 0, entriesSince: 0, leftovers: [], feedSeq: 0, riders: [] }
}

import type { ChangeSubscriber } from '../engine/change-feed.ts'
import type { EntryInfo, NamespaceOption, PutOptions } from './types.ts'

/**
 * Hooks the worker host uses to move bytes instead of values across the worker boundary.
 * Not part of the public API: reached through this symbol on an engine from createMemory().
 */
export const ENGINE_INTERNALS = Symbol.for('tiermem.engineInternals')

/** A stored value handed out as its encoded bytes (a copy the receiver owns). */
export class EncodedValue {
  constructor(readonly bytes: Uint8Array) {}
}

export interface EngineInternals {
  /** putMany() of values the caller already encoded with the tiermem codec: all or none. */
  putEncoded(items: Array<{ key: string; bytes: Uint8Array } & PutOptions>): Promise<EntryInfo[]>
  /** Single puts of encoded values that arrived together: one batch, each settling on its own. */
  putEncodedEach(items: Array<{ key: string; bytes: Uint8Array } & PutOptions>): Promise<Array<PromiseSettledResult<EntryInfo>>>
  /** A pressure signal sampled elsewhere (the page's JS heap); `limit` 0 removes it. */
  reportSignal(signal: { source: string; resource: 'memory' | 'storage'; used: number; limit: number }): void
  /** get() that returns hot entries as values and warm/cold entries as EncodedValue. */
  getRaw(keys: string[], options?: NamespaceOption, access?: boolean): Promise<unknown[]>
  /** Subscribes to every committed change to an entry (change-feed.ts); returns the unsubscribe. */
  changes(subscriber: ChangeSubscriber): () => void
  /** The vector stored with the entry's current value (`put(..., { embed | vector })`), for the index and tests. */
  vectorOf(key: string, options?: NamespaceOption): Promise<Float32Array | undefined>
}

/**
 * Inflates raw-deflate payloads where the platform can do it off the engine's thread (the
 * browser's cold store has compression workers), and hashes each result there (SHA-256, hex). A
 * restore inflates and hashes every record file twice (once to check it, once to apply it):
 * inflating alone was ~30 % of a restore's time on the engine's thread (measured). A payload that
 * does not inflate to exactly `size` bytes (damaged, truncated, or its size misstated) comes back
 * `undefined`. The payloads' buffers may be handed over (transferred): the caller must not use
 * them after.
 */
export type Inflater = (payloads: Inflatable[]) => Promise<Array<Inflated | undefined>>

/** A raw-deflate payload and the size it must inflate to. */
export interface Inflatable {
  data: Uint8Array
  size: number
}

/** A payload inflated, with the SHA-256 (hex) of what it inflated to. */
export interface Inflated {
  bytes: Uint8Array
  sha256: string
}

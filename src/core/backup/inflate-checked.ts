import { inflateSync } from 'fflate'
import type { Inflatable, Inflated } from '../store/inflater.ts'
import { sha256Hex } from './sha256-hex.ts'

/** One payload inflated and hashed, wherever it runs (here, or on a compression worker: an `Inflater`). */
export async function inflateChecked({ data, size }: Inflatable): Promise<Inflated | undefined> {
  let bytes: Uint8Array
  try {
    // One byte of room past the size asked for: an inflate that fills it was given the wrong size.
    bytes = inflateSync(data, { out: new Uint8Array(size + 1) })
  } catch {
    return undefined
  }
  if (bytes.byteLength !== size) return undefined
  return { bytes, sha256: await sha256Hex(bytes) }
}

/** The `Inflater` of a platform without workers to lend: on the caller's thread. */
export const inflateHere = (payloads: Inflatable[]) => Promise.all(payloads.map(inflateChecked))

import { fileSums } from '../core/backup/file-sums.ts'
import { compressPayload, type Compressed, type DeflateLevel } from './segment-format.ts'

/** What a compression call asks for besides the payloads. */
export interface CompressOptions {
  /** Each result's `raw` hands its raw back, for the caller to reuse (others let it go where it was deflated, rather than hold it until their result is done with). */
  handBack?: boolean
  /** Each result's `sums` gives the raw's CRC-32 and SHA-256, made where it was deflated (a backup's record files). */
  sums?: boolean
}

/** One payload compressed as asked: the sums are of the raw, taken before it is deflated (or handed on). */
export async function compressAsAsked(raw: Uint8Array, level: DeflateLevel, { handBack = false, sums = false }: CompressOptions = {}): Promise<Compressed> {
  const sumsOfRaw = sums ? await fileSums(raw) : undefined
  const result = compressPayload(raw, level)
  return { ...result, ...(handBack ? { raw } : {}), ...(sumsOfRaw ? { sums: sumsOfRaw } : {}) }
}

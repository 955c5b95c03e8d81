/** A backup record file's two checks: the zip's CRC-32 of the member and the manifest's SHA-256 (hex). */
export interface FileSums {
  crc32: number
  sha256: string
}

/**
 * Deflates payloads where the platform can do it off the engine's thread (the browser's cold
 * store has compression workers): a backup's record files are deflated there, beside the
 * engine's reads, instead of between them. Each result is raw deflate, or the payload itself
 * where deflating saved too little (`deflated: false`), with the sums of the payload as given
 * (`fileSums`), made there too: hashing a file took as long on the engine's thread as framing
 * its records (measured). The payloads' buffers may be handed over (transferred): the caller
 * must not use them after.
 */
export type Deflater = (payloads: Uint8Array[], level: number) => Promise<Deflated[]>

/** One payload as a `Deflater` gives it back. */
export interface Deflated {
  payload: Uint8Array
  deflated: boolean
  sums: FileSums
  /**
   * The payload as it was given, handed back (from a worker, transferred back) where it was
   * deflated: the caller lays its next file out in the same buffer. A fresh megabyte buffer
   * costs the engine's thread more than filling it (page faults, measured).
   */
  raw?: Uint8Array
}

const encoder = new TextEncoder()

/**
 * Writes `text` as UTF-8 into `out` at `at` and returns the bytes written; `out` must have room
 * for 3 bytes a UTF-16 unit. ASCII (most keys and metadata) is copied a unit at a time: encodeInto
 * needs a view made for each call, and at 100k calls a backup those views were ~6 MiB of garbage
 * (a sampling heap profile). Anything else goes through encodeInto.
 */
export function utf8Into(text: string, out: Uint8Array, at: number): number {
  const length = text.length
  for (let i = 0; i < length; i++) {
    const unit = text.charCodeAt(i)
    if (unit >= 0x80) return encoder.encodeInto(text, out.subarray(at)).written
    out[at + i] = unit
  }
  return length
}

import { sha256 } from '@noble/hashes/sha2'
import { bytesToHex } from '@noble/hashes/utils'

/**
 * SHA-256 of a backup's record file or manifest, as hex. WebCrypto where it is (browsers in a
 * secure context, Workers, Deno, Node): native, several times faster than JavaScript on the
 * megabyte files a backup hashes, and asynchronous costs nothing here. @noble/hashes elsewhere
 * (a page served over plain http has no crypto.subtle).
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle
  if (subtle) return bytesToHex(new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)))
  return bytesToHex(sha256(bytes))
}

/**
 * The embedding cache's key for a text: base64url of the first 128 bits of SHA-256(embedder id,
 * NUL, text), 22 characters. Hashed rather than the text itself: keys stay short whatever the
 * text's length, and the same text under another model is another key. 128 bits rather than all
 * 256: the key is stored twice in each vector's metadata, and 21 characters fewer is ~8 % of a
 * quantized vector's durable bytes, while two texts of even 10^12 cached ones share a key with
 * odds below 10^-14. Synchronous (@noble/hashes) rather than
 * WebCrypto: `crypto.subtle.digest` answers through a task on another thread, which cost a
 * cache miss more than hashing a short text in JavaScript does.
 */
import { sha256 } from '@noble/hashes/sha2'

const encoder = new TextEncoder()
const KEY_BYTES = 16

export function cacheKey(embedderId: string, text: string): string {
  const digest = sha256(encoder.encode(`${embedderId}\u0000${text}`))
  let binary = ''
  for (const byte of digest.subarray(0, KEY_BYTES)) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

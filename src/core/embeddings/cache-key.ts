/**
 * The embedding cache's key for a text: base64url(SHA-256(embedder id, NUL, text)), 43
 * characters. Hashed rather than the text itself: keys stay short whatever the text's length,
 * and the same text under another model is another key. WebCrypto (globalThis.crypto.subtle),
 * which browsers, workers, Node, Deno and Workers all have.
 */
const encoder = new TextEncoder()

export async function cacheKey(embedderId: string, text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(`${embedderId}\u0000${text}`)))
  let binary = ''
  for (const byte of digest) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

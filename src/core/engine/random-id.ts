/** A random id of `bytes` bytes as lowercase hex: backups' ids, the stores' incarnation. */
export function randomId(bytes: number): string {
  const random = new Uint8Array(bytes)
  globalThis.crypto.getRandomValues(random)
  return Array.from(random, (b) => b.toString(16).padStart(2, '0')).join('')
}

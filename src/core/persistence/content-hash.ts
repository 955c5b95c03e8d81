import { xxHash32 } from './xxhash32.ts'

/**
 * A 64-bit content hash of the encoded bytes: two xxHash32 passes with different seeds.
 * Pure JavaScript on purpose: edge runtimes (Cloudflare Workers) forbid compiling wasm at run
 * time, and SHA-256 through crypto.subtle is asynchronous and several times slower per record.
 * Not cryptographic: deduplication confirms equal bytes before it merges anything.
 */
export interface ContentHash {
  hi: number
  lo: number
}

const SEED_HI = 0x9e3779b1
const SEED_LO = 0x85ebca77

export function hashBytes(bytes: Uint8Array): ContentHash {
  return { hi: xxHash32(bytes, SEED_HI), lo: xxHash32(bytes, SEED_LO) }
}

/** Whether `bytes` are the ones the content hash (hi, lo) names. Every value read is checked: no object made, and no second pass once the first differs. */
export function hashMatches(bytes: Uint8Array, hi: number, lo: number): boolean {
  return xxHash32(bytes, SEED_HI) === hi && xxHash32(bytes, SEED_LO) === lo
}

/** Two hex digits per byte value: formatting is on every put's result, so no toString/padStart. */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

export function formatHash(hi: number, lo: number): string {
  return (
    HEX[hi >>> 24]! +
    HEX[(hi >>> 16) & 255]! +
    HEX[(hi >>> 8) & 255]! +
    HEX[hi & 255]! +
    HEX[lo >>> 24]! +
    HEX[(lo >>> 16) & 255]! +
    HEX[(lo >>> 8) & 255]! +
    HEX[lo & 255]!
  )
}

/** formatHash read back: the (hi, lo) of 16 lowercase hex digits, or undefined for anything else. */
export function parseHash(text: string): ContentHash | undefined {
  if (!/^[0-9a-f]{16}$/.test(text)) return undefined
  return { hi: parseInt(text.slice(0, 8), 16), lo: parseInt(text.slice(8), 16) }
}

import { xxHash32 } from 'js-xxhash'

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
  return { hi: xxHash32(bytes, SEED_HI) >>> 0, lo: xxHash32(bytes, SEED_LO) >>> 0 }
}

export function formatHash(hi: number, lo: number): string {
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0')
}

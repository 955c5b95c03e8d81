/**
 * `tiermem`: the browser entry. The worker-backed `openMemory()` arrives with the browser tiers;
 * until then this entry exposes the same engine and types as `tiermem/core`.
 */
export * from './core/index.ts'

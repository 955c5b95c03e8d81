import type { StorageWitness, WitnessRecord } from '../core/api/types.ts'

/**
 * openMemory()'s default storage witness: the page's localStorage, which Chromium keeps when it
 * evicts an origin's IndexedDB and OPFS under storage pressure (localStorage is outside the
 * quota system there). Firefox and Safari clear it with the rest, so there an eviction looks
 * like a new memory; an app that must know everywhere passes its own witness (its server).
 * Undefined where the page has no usable localStorage (a worker, a sandboxed frame).
 */
export function localStorageWitness(name: string): StorageWitness | undefined {
  let storage: Storage | undefined
  try {
    storage = globalThis.localStorage
  } catch {
    return undefined
  }
  if (!storage) return undefined
  const key = `tiermem:witness:${name}`
  return {
    async read() {
      const text = storage.getItem(key)
      if (!text) return undefined
      try {
        const record = JSON.parse(text) as WitnessRecord
        return typeof record.incarnation === 'string' && typeof record.lastOpenedAt === 'number' && typeof record.entries === 'number' ? record : undefined
      } catch {
        return undefined
      }
    },
    async write(record) {
      storage.setItem(key, JSON.stringify({ incarnation: record.incarnation, lastOpenedAt: record.lastOpenedAt, entries: record.entries }))
    },
  }
}

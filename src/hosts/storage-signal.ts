import type { SignalSource } from '../core/api/types.ts'

/** The origin's storage use against its quota, from navigator.storage.estimate() (works in workers). */
export function storageEstimateSignal(): SignalSource {
  return {
    source: 'storage',
    resource: 'storage',
    async sample() {
      const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage
      if (!storage?.estimate) return undefined
      const { usage, quota } = await storage.estimate()
      return usage !== undefined && quota ? { used: usage, limit: quota } : undefined
    },
  }
}

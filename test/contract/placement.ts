import { expect } from 'vitest'
import type { EntryRecord } from '../../src/core/registry/entry-record.ts'
import { COLD, WARM } from '../../src/core/registry/registry.ts'
import { parsePageKey } from '../../src/core/persistence/warm-pages.ts'

/**
 * One copy per entry, wherever the engine ran: every durable entry's value is in exactly the
 * tier its metadata names (alone under its key, or inside the warm page it names), and the
 * stores hold nothing no record names (no value without metadata, no page without an entry).
 */
export function checkPlacement(records: ReadonlyMap<string, EntryRecord>, warmValues: ReadonlyMap<string, Uint8Array>, coldKeys: ReadonlySet<string>): void {
  const pages = new Map<number, Uint8Array>()
  for (const [key, bytes] of warmValues) {
    const page = parsePageKey(key)
    if (page) pages.set(page.id, bytes)
  }
  const named = new Set<number>()
  for (const [key, record] of records) {
    if (record.page > 0) named.add(record.page)
    const page = record.page > 0 ? pages.get(record.page) : undefined
    const inWarm = warmValues.has(key) || (page !== undefined && page.byteLength >= record.pageOffset + record.sizeBytes)
    const inCold = coldKeys.has(key)
    if (record.tier === WARM) expect({ key, inWarm, inCold }).toEqual({ key, inWarm: true, inCold: false })
    if (record.tier === COLD) expect({ key, inWarm, inCold, page: record.page }).toEqual({ key, inWarm: false, inCold: true, page: 0 })
  }
  for (const key of warmValues.keys()) {
    const page = parsePageKey(key)
    if (page) expect(named.has(page.id), `warm page no entry names: ${page.id}`).toBe(true)
    else expect(records.has(key), `warm value without metadata: ${key}`).toBe(true)
  }
  for (const key of coldKeys) expect(records.has(key), `cold value without metadata: ${key}`).toBe(true)
}

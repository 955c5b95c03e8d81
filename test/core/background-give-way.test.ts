import { describe, expect, it } from 'vitest'
import { createMemory, type Memory } from '../../src/core/index.ts'
import { memoryStore } from '../../src/core/store/memory-store.ts'
import type { CallOptions, Store } from '../../src/core/store/store.ts'
import { GIVE_WAY_MS } from '../../src/core/engine/time-slices.ts'
import { fakeClock, plainLayers } from './helpers.ts'

/** Which store calls said they were for housekeeping (CallOptions.background). */
interface Heard {
  reads: boolean[]
  writes: boolean[]
}

function listening(inner: Store, heard: Heard): Store {
  return {
    ...inner,
    getMany: (space, keys, options?: CallOptions) => {
      if (space === 'values') heard.reads.push(options?.background === true)
      return inner.getMany(space, keys)
    },
    batch: (ops, options) => {
      if (ops.some((op) => op.space === 'values')) heard.writes.push(options?.background === true)
      return options ? inner.batch(ops, options) : inner.batch(ops)
    },
  }
}

async function openListened(options: Parameters<typeof createMemory>[0] = {}) {
  const warm: Heard = { reads: [], writes: [] }
  const cold: Heard = { reads: [], writes: [] }
  const mem = await createMemory({
    ...plainLayers,
    maintenanceIntervalMs: 0,
    pressure: { checkIntervalMs: 0 },
    clock: fakeClock(),
    ...options,
    stores: { warm: listening(memoryStore(), warm), cold: listening(memoryStore(), cold) },
  })
  const forget = () => [warm, cold].forEach((h) => ((h.reads = []), (h.writes = [])))
  return { mem, warm, cold, forget }
}

const note = (i: number) => ({ i, text: `note ${i} `.repeat(20) })
const putWarm = (mem: Memory, count: number, prefix = 'k') =>
  mem.putMany(Array.from({ length: count }, (_, i) => ({ key: `${prefix}${i}`, value: note(i), tier: 'warm' as const })))

describe('housekeeping tells the stores it is housekeeping; calls somebody waits for do not', () => {
  it('the idle demotion of gc reads warm and writes cold as background work', async () => {
    const { mem, warm, cold, forget } = await openListened()
    await putWarm(mem, 300)
    await mem.configure({ policy: { warmIdleMs: 0 } })
    forget()
    expect((await mem.gc()).demoted).toBe(300)
    expect(warm.reads.length).toBeGreaterThan(0)
    expect(warm.reads.every(Boolean)).toBe(true)
    expect(cold.writes.length).toBeGreaterThan(0)
    expect(cold.writes.every(Boolean)).toBe(true)
    await mem.close()
  })

  it('an archive and a backup are background work', async () => {
    const { mem, warm, cold, forget } = await openListened()
    await putWarm(mem, 200)
    forget()
    expect((await mem.archive({ level: 9 })).archived).toBe(200)
    expect(cold.writes.length).toBeGreaterThan(0)
    expect(cold.writes.every(Boolean)).toBe(true)
    await mem.put('w', note(1), { tier: 'warm' })
    forget()
    await new Response(await mem.backup()).arrayBuffer()
    expect([...warm.reads, ...cold.reads].length).toBeGreaterThan(0)
    expect([...warm.reads, ...cold.reads].every(Boolean)).toBe(true)
    await mem.close()
  })

  it('a put to cold, a read, and relief of a budget over its limit are not', async () => {
    const { mem, warm, cold, forget } = await openListened({ warm: { maxBytes: 40_000 } })
    forget()
    await mem.put('c', note(1), { tier: 'cold' })
    expect(await mem.get('c')).toEqual(note(1))
    expect(cold.writes).toEqual(expect.arrayContaining([false]))
    expect([...cold.writes, ...cold.reads, ...warm.reads].some(Boolean)).toBe(false)
    // Over the warm budget: pressure moves entries to cold at once, and somebody is waiting for room.
    await putWarm(mem, 200, 'r')
    await mem.flush()
    expect((await mem.stats()).tiers.cold.count).toBeGreaterThan(1)
    expect(cold.writes.length).toBeGreaterThan(1)
    expect([...cold.writes, ...warm.reads].some(Boolean)).toBe(false)
    await mem.close()
  })
})

describe('a background move gives way to reads that keep coming, and still ends', () => {
  it('every read during the move sees its value; the move waits for the reads but finishes', async () => {
    const { mem } = await openListened()
    const count = 2500
    await putWarm(mem, count)
    await mem.put('hot', { hot: true }, { tier: 'hot' })
    await mem.configure({ policy: { warmIdleMs: 0 } })
    let moving = true
    const started = performance.now()
    const gc = mem.gc().finally(() => (moving = false))
    let reads = 0
    const wrong: string[] = []
    // Reads as a worker gets them: each its own task, one after another (a message each).
    while (moving) {
      const i = reads % count
      const [hot, warmOrCold] = await Promise.all([mem.get('hot'), mem.get(`k${i}`)])
      if ((hot as { hot: boolean }).hot !== true) wrong.push('hot')
      if ((warmOrCold as { i: number }).i !== i) wrong.push(`k${i}`)
      reads++
      await new Promise((resolve) => setTimeout(resolve, 0))
    }
    const stats = await gc
    const took = performance.now() - started
    expect(wrong).toEqual([])
    expect(stats.demoted).toBe(count)
    expect((await mem.stats()).tiers.cold.count).toBe(count)
    // It gave way (at least one full wait), and reads were answered all along.
    expect(took).toBeGreaterThanOrEqual(GIVE_WAY_MS)
    expect(reads).toBeGreaterThan(20)
    await mem.close()
  })
})

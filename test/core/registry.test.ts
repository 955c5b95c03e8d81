import { describe, expect, it } from 'vitest'
import { Registry, WARM } from '../../src/core/registry/registry.ts'

/** A registry of `count` warm entries named k0, k1, …, in slots 0, 1, … */
function filled(count: number, capacity = 1024): Registry {
  const reg = new Registry(capacity)
  for (let i = 0; i < count; i++) add(reg, `k${i}`)
  return reg
}

function add(reg: Registry, key: string): number {
  const slot = reg.allocate('default', key)
  reg.tier[slot] = WARM
  reg.attach(slot)
  return slot
}

describe('Registry.slots()', () => {
  it('walks the live slots in slot order, skipping freed ones, each walk on its own', () => {
    const reg = filled(6)
    reg.remove(1)
    reg.remove(4)
    expect([...reg.slots()]).toEqual([0, 2, 3, 5])
    const first = reg.slots()
    const second = reg.slots()
    expect(first.next()).toMatchObject({ value: 0, done: false })
    expect([...second]).toEqual([0, 2, 3, 5])
    expect([...first]).toEqual([2, 3, 5])
    expect(first.next().done).toBe(true)
  })

  it('skips a slot removed ahead of the walk, and leaves out slots added during it', () => {
    const reg = filled(5)
    const seen: number[] = []
    for (const slot of reg.slots()) {
      seen.push(slot)
      if (slot === 1) {
        reg.remove(3)
        add(reg, 'late') // takes slot 3 again: live when the walk reaches it
        add(reg, 'later') // slot 5: past where the walk ends
      }
    }
    expect(seen).toEqual([0, 1, 2, 3, 4])
  })

  it('sees the registry as it is after the walk grew it (its arrays are new)', () => {
    const reg = filled(4, 4)
    const seen: number[] = []
    for (const slot of reg.slots()) {
      seen.push(slot)
      if (slot === 0) {
        for (let i = 0; i < 10; i++) add(reg, `grown${i}`) // past the capacity of 4: every array is replaced
        reg.remove(2)
      }
    }
    expect(seen).toEqual([0, 1, 3])
  })
})

describe('Registry.byRecency()', () => {
  it('walks a tier from least to most recently used, and goes on past a slot the walk removes', () => {
    const reg = filled(5)
    reg.touch(1, 10)
    reg.touch(0, 20)
    expect([...reg.byRecency(WARM)]).toEqual([2, 3, 4, 1, 0])
    const seen: number[] = []
    for (const slot of reg.byRecency(WARM)) {
      seen.push(slot)
      if (slot === 3) reg.remove(3)
    }
    expect(seen).toEqual([2, 3, 4, 1, 0])
    expect([...reg.byRecency(WARM)]).toEqual([2, 4, 1, 0])
  })
})

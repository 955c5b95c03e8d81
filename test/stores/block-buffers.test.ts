import { afterEach, describe, expect, it, vi } from 'vitest'
import { BlockBuffers } from '../../src/stores/block-buffers.ts'

afterEach(() => vi.useRealTimers())

describe('block buffers (the cold store reuses them for payloads and joined writes)', () => {
  it('lends views of exactly the asked size, and lends a buffer again only once it is given back', () => {
    const buffers = new BlockBuffers(1024, 4, 4096)
    const a = buffers.take(1000)
    const b = buffers.take(700)
    expect([a.byteLength, b.byteLength]).toEqual([1000, 700])
    expect(a.buffer).not.toBe(b.buffer)
    buffers.give(a)
    const c = buffers.take(10)
    expect(c.buffer).toBe(a.buffer)
    expect(c.byteOffset).toBe(0)
    // Not given back: a fresh one.
    expect(buffers.take(10).buffer).not.toBe(b.buffer)
    buffers.clear()
  })

  it('keeps one copy of a buffer given twice, so it is never lent to two payloads at once', () => {
    const buffers = new BlockBuffers(1024, 4, 4096)
    const a = buffers.take(100)
    buffers.give(a)
    buffers.give(a)
    expect(buffers.spares).toBe(1)
    const first = buffers.take(100)
    const second = buffers.take(100)
    expect(second.buffer).not.toBe(first.buffer)
    buffers.clear()
  })

  it('leaves payloads larger than its buffers, foreign or detached buffers, and buffers past its bound to the collector', () => {
    const buffers = new BlockBuffers(1024, 2, 4096)
    const large = buffers.take(5000)
    expect(large.byteLength).toBe(5000)
    buffers.give(large)
    buffers.give(new Uint8Array(1024 / 2))
    const detached = buffers.take(100)
    structuredClone(detached.buffer, { transfer: [detached.buffer as ArrayBuffer] })
    buffers.give(detached)
    expect(buffers.spares).toBe(0)
    const lent = [buffers.take(1), buffers.take(1), buffers.take(1)]
    for (const view of lent) buffers.give(view)
    expect(buffers.spares).toBe(2)
    buffers.clear()
  })

  it('joins writes in one kept buffer up to its size, and gives a longer write a buffer of its own', () => {
    const buffers = new BlockBuffers(1024, 2, 4096)
    const first = buffers.joined(3000)
    const second = buffers.joined(4096)
    expect([first.byteLength, second.byteLength]).toEqual([3000, 4096])
    expect(second.buffer).toBe(first.buffer)
    const long = buffers.joined(5000)
    expect(long.byteLength).toBe(5000)
    expect(long.buffer).not.toBe(first.buffer)
    buffers.clear()
  })

  it('drops every buffer once it goes unused for its idle time, not while in use', () => {
    vi.useFakeTimers()
    const buffers = new BlockBuffers(1024, 4, 4096, 2000)
    buffers.give(buffers.take(10))
    const joined = buffers.joined(100)
    vi.advanceTimersByTime(1500)
    buffers.give(buffers.take(10)) // in use again: the clock restarts
    vi.advanceTimersByTime(1500)
    expect(buffers.spares).toBe(1)
    expect(buffers.joined(100).buffer).toBe(joined.buffer)
    vi.advanceTimersByTime(2500)
    expect(buffers.spares).toBe(0)
    expect(buffers.joined(100).buffer).not.toBe(joined.buffer)
    buffers.clear()
  })
})

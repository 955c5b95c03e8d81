/**
 * Peak JS heap of the page's dedicated workers around one operation, from the DevTools protocol:
 * the runner attaches to every worker the page starts (Target.setAutoAttach on the page's
 * session) and, between the page's `benchHeap('start')` and `benchHeap('stop')`, asks each one's
 * V8 for its heap (Runtime.getHeapUsage) every few milliseconds. Used bytes count garbage not
 * yet collected: the peak is what the heap really reached. An inspector request interrupts
 * running JavaScript, so a worker busy in a long task still answers. Workers a worker starts
 * (the engine's compression workers) are not attached this way: for a memory, the figure is its
 * engine worker's heap.
 *
 * It replaced performance.measureUserAgentSpecificMemory() for the backup's peak: one of those
 * took as long as the backup (one sample a backup), and collects garbage first; and a process's
 * resident memory, which moved by tens of MiB with memory earlier workers had freed.
 */
import { writeFileSync } from 'node:fs'
import type { CDPSession } from 'playwright'

const EVERY_MS = 5

export interface HeapWindow {
  /** Used heap bytes of the page's workers, summed, when the window opened. */
  baseline: number
  /** The highest sum sampled in the window. */
  peak: number
  samples: number
}

/** Starts attaching to the page's workers now; returns the function the page calls. */
export async function heapSampler(session: CDPSession): Promise<(edge: 'start' | 'stop') => Promise<HeapWindow | undefined>> {
  const workers = new Set<string>()
  const answers = new Map<number, (result: unknown) => void>()
  let nextId = 1
  session.on('Target.attachedToTarget', (event: { sessionId: string; targetInfo: { type: string } }) => {
    if (event.targetInfo.type === 'worker') workers.add(event.sessionId)
  })
  session.on('Target.detachedFromTarget', (event: { sessionId: string }) => workers.delete(event.sessionId))
  session.on('Target.receivedMessageFromTarget', (event: { message: string }) => {
    const message = JSON.parse(event.message) as { id?: number; result?: unknown }
    if (message.id !== undefined) answers.get(message.id)?.(message.result)
  })
  // Not flattened: Playwright's session sends no session ids, so messages go through the page's session.
  await session.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false })

  // A worker that ends with a question pending never answers it: nothing after `waitMs`.
  const ask = <T>(sessionId: string, method: string, params: object = {}, waitMs = 1_000) =>
    new Promise<T | undefined>((resolve) => {
      const id = nextId++
      const timer = setTimeout(() => answer(undefined), waitMs)
      const answer = (result: unknown) => {
        clearTimeout(timer)
        answers.delete(id)
        resolve(result as T | undefined)
      }
      answers.set(id, answer)
      session.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) }).catch(() => answer(undefined))
    })
  // A worker that does not answer within the wait is taken as gone (its detach can come late):
  // asking it again would hold every later sample for as long.
  const heapOf = async (sessionId: string) => {
    const usage = await ask<{ usedSize: number }>(sessionId, 'Runtime.getHeapUsage', {}, 500)
    if (!usage) workers.delete(sessionId)
    return usage?.usedSize ?? 0
  }
  const used = async () => (await Promise.all([...workers].map(heapOf))).reduce((sum, bytes) => sum + bytes, 0)

  let window: HeapWindow | undefined
  let profiled = 0
  let sampling: Promise<void> | undefined
  return async (edge) => {
    if (edge === 'start') {
      // BENCH_HEAP_PROFILE=<file>: where the window's allocations came from (a sampling heap profile per worker).
      if (process.env.BENCH_HEAP_PROFILE) {
        for (const worker of workers)
          await ask(worker, 'HeapProfiler.startSampling', {
            samplingInterval: 16_384,
            includeObjectsCollectedByMajorGC: true,
            includeObjectsCollectedByMinorGC: true,
          })
      }
      window = { baseline: await used(), peak: 0, samples: 0 }
      window.peak = window.baseline
      const open = window
      sampling = (async () => {
        while (window === open) {
          const now = await used()
          open.peak = Math.max(open.peak, now)
          open.samples++
          await new Promise((resolve) => setTimeout(resolve, EVERY_MS))
        }
      })()
      return window
    }
    const done = window
    window = undefined
    await sampling
    if (process.env.BENCH_HEAP_PROFILE) {
      const profiles = await Promise.all([...workers].map((worker) => ask(worker, 'HeapProfiler.stopSampling', {}, 30_000)))
      writeFileSync(`${process.env.BENCH_HEAP_PROFILE}.${++profiled}.json`, JSON.stringify(profiles))
    }
    return done
  }
}

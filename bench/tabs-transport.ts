/**
 * The transport under a follower's call, alone: an echo from a page to its own dedicated worker
 * (what a leader's call crosses) against an echo from a second page to that worker over a
 * MessagePort introduced through a SharedWorker (what a follower's call crosses). Run by
 * bench/tabs.bench.ts on its pages; no tiermem code is involved.
 */
import type { Page } from 'playwright'

const WORKER = `onmessage = (e) => { for (const port of e.ports) port.onmessage = (m) => port.postMessage(m.data); if (!e.ports.length) postMessage(e.data) }`
const SHARED = `let leader; onconnect = (e) => { const port = e.ports[0]; port.onmessage = (m) => { if (m.data === 'lead') leader = port; else leader.postMessage('connect', m.ports) } }`

/**
 * What a hot get's messages carry, in shape and size: comlink's request (a random id, the path,
 * the key) and its answer (the value of the bench's hot entries, ~220 bytes). The echo sends
 * this both ways, so the floor is measured on messages like the real ones, not on a number.
 */
const GET_SIZED = {
  id: '1f2e3d4c5b6a79-2e3d4c5b6a7981-3d4c5b6a798102-4c5b6a79810213',
  type: 'APPLY',
  path: ['get'],
  argumentList: [{ type: 'RAW', value: 'hot-123' }],
  value: { values: [{ i: 123, text: 'x'.repeat(200) }], encoded: [] },
}

/** Median echo latency in µs: the first page to its worker, and the second page to the first page's worker. */
export async function transportFloor(first: Page, second: Page): Promise<{ ownWorkerUs: number; otherPagesWorkerUs: number }> {
  await first.evaluate(
    ({ WORKER, SHARED }) => {
      const w = window as unknown as { echoWorker: Worker; shared: SharedWorker }
      w.echoWorker = new Worker(URL.createObjectURL(new Blob([WORKER], { type: 'text/javascript' })))
      const sharedUrl = URL.createObjectURL(new Blob([SHARED], { type: 'text/javascript' }))
      localStorage.setItem('transport-shared-url', sharedUrl)
      w.shared = new SharedWorker(sharedUrl)
      w.shared.port.onmessage = (m) => w.echoWorker.postMessage('port', [...m.ports])
      w.shared.port.postMessage('lead')
    },
    { WORKER, SHARED },
  )
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! * 1000
  const own = await first.evaluate(async (message) => {
    const worker = (window as unknown as { echoWorker: Worker }).echoWorker
    const times: number[] = []
    for (let i = 0; i < 2000; i++) {
      const start = performance.now()
      await new Promise<void>((resolve) => {
        worker.onmessage = () => resolve()
        worker.postMessage(message)
      })
      times.push(performance.now() - start)
    }
    return times
  }, GET_SIZED)
  const other = await second.evaluate(async (message) => {
    const shared = new SharedWorker(localStorage.getItem('transport-shared-url')!)
    const { port1, port2 } = new MessageChannel()
    shared.port.postMessage('follow', [port2])
    const times: number[] = []
    for (let i = 0; i < 2000; i++) {
      const start = performance.now()
      await new Promise<void>((resolve) => {
        port1.onmessage = () => resolve()
        port1.postMessage(message)
      })
      times.push(performance.now() - start)
    }
    return times
  }, GET_SIZED)
  return { ownWorkerUs: median(own), otherPagesWorkerUs: median(other) }
}

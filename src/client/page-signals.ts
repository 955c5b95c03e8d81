/**
 * Pressure signals only the page can read, forwarded to the engine in the worker:
 * - performance.memory (Chromium): usedJSHeapSize / jsHeapSizeLimit — null inside dedicated
 *   workers, so the page samples it;
 * - performance.measureUserAgentSpecificMemory(): only where the page is cross-origin isolated,
 *   and a call takes seconds (10–16 s measured in headless Chromium), so it runs rarely, in the
 *   background, and never blocks anything.
 * Missing APIs are skipped, never faked.
 */
export interface HeapSample {
  source: string
  resource: 'memory'
  used: number
  limit: number
}

interface ChromiumMemory {
  usedJSHeapSize: number
  jsHeapSizeLimit: number
}

function heapLimit(): number | undefined {
  return (performance as unknown as { memory?: ChromiumMemory }).memory?.jsHeapSizeLimit
}

export function sampleHeap(): HeapSample | undefined {
  const memory = (performance as unknown as { memory?: ChromiumMemory }).memory
  if (!memory || !memory.jsHeapSizeLimit) return undefined
  return { source: 'heap', resource: 'memory', used: memory.usedJSHeapSize, limit: memory.jsHeapSizeLimit }
}

export async function measureMemory(): Promise<HeapSample | undefined> {
  const measure = (performance as unknown as { measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }> }).measureUserAgentSpecificMemory
  const limit = heapLimit()
  if (typeof measure !== 'function' || !(globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated || !limit) return undefined
  const { bytes } = await measure.call(performance)
  return { source: 'heap:measured', resource: 'memory', used: bytes, limit }
}

/** Samples on an interval and hands each sample to `report`; returns a stop function. */
export function startPageSignals(report: (sample: HeapSample) => void, intervalMs: number): () => void {
  if (intervalMs <= 0 || typeof performance === 'undefined') return () => {}
  let measuring = false
  let sinceMeasure = Number.POSITIVE_INFINITY
  const tick = () => {
    const heap = sampleHeap()
    if (heap) report(heap)
    sinceMeasure += intervalMs
    // At most every 30 s: one measurement takes seconds of the browser's time.
    if (!measuring && sinceMeasure >= 30_000) {
      measuring = true
      sinceMeasure = 0
      measureMemory()
        .then((sample) => sample && report(sample))
        .catch(() => undefined)
        .finally(() => (measuring = false))
    }
  }
  tick()
  const timer = setInterval(tick, intervalMs)
  return () => clearInterval(timer)
}

/**
 * Runs `fn` over items with at most `parallel` calls in flight, results in the items' order. The
 * edge stores fan out through this: a batch of thousands is never thousands of requests at once.
 */
export async function inParallel<T, R>(items: readonly T[], parallel: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker))
  return out
}

/**
 * Yields `read(item)` for each item in order, with the next item's read already under way while
 * the caller works on the current one. A restore's record file is read, inflated and hashed while
 * the file before it is checked or committed (IndexedDB works on its own threads meanwhile), at
 * the cost of one more file held. A read's failure surfaces when its turn comes, never before the
 * files ahead of it are done with.
 */
export async function* readAhead<T, R>(items: readonly T[], read: (item: T, index: number) => Promise<R>): AsyncGenerator<R> {
  let next: Promise<R> | undefined
  const start = (i: number) => {
    if (i >= items.length) return undefined
    const reading = read(items[i]!, i)
    // Not awaited if the caller stops first; awaited (and so thrown) in its turn otherwise.
    reading.catch(() => undefined)
    return reading
  }
  next = start(0)
  for (let i = 0; i < items.length; i++) {
    const current = next!
    next = start(i + 1)
    yield await current
  }
}

/**
 * Yields to the event loop: work queued behind a long task (a read that arrived as a message
 * while a tier move ran) runs before the task goes on. A long move awaits store calls, but
 * when they answer at once it continues in microtasks and nothing else gets a turn.
 *
 * A MessageChannel where the runtime has one (browsers, Node, Deno, Cloudflare Workers): a
 * chain of setTimeout(0) is clamped to 4 ms a turn after a few nested timers.
 */
export function nextTurn(): Promise<void> {
  if (typeof MessageChannel !== 'function') return new Promise((resolve) => setTimeout(resolve, 0))
  return new Promise((resolve) => {
    const channel = new MessageChannel()
    channel.port1.onmessage = () => {
      channel.port1.close()
      resolve()
    }
    channel.port2.postMessage(undefined)
  })
}

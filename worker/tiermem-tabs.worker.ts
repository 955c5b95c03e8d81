// The SharedWorker that introduces tabs to one another: the tab leading a memory registers here,
// and a tab that follows hands over a MessagePort, which this worker passes on to the leader (a
// BroadcastChannel cannot carry a port). After that the two talk directly, port to port, and this
// worker is out of the way. It holds no data: losing it loses nothing.
//
// A leader that died never says so. Each leader holds a Web Lock named by its registration while
// it lives; a registration whose lock is no longer held is stale, and a follower asking then hears
// 'no-leader' at once (and asks again shortly) instead of waiting on a port nobody reads.
interface Lead {
  type: 'lead'
  name: string
  /** The Web Lock the leader holds for as long as it leads. */
  alive: string
}
interface Follow {
  type: 'follow'
  name: string
  id: string
}
interface Resign {
  type: 'resign'
  name: string
}

const leaders = new Map<string, { port: MessagePort; alive: string }>()

async function isAlive(alive: string): Promise<boolean> {
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks
  if (!locks) return true
  const { held = [] } = await locks.query()
  return held.some((lock) => lock.name === alive)
}

;(globalThis as unknown as { onconnect: (event: MessageEvent) => void }).onconnect = (event: MessageEvent) => {
  const port = event.ports[0]!
  port.onmessage = async ({ data, ports }: MessageEvent<Lead | Follow | Resign>) => {
    if (data.type === 'lead') {
      leaders.set(data.name, { port, alive: data.alive })
    } else if (data.type === 'resign') {
      if (leaders.get(data.name)?.port === port) leaders.delete(data.name)
    } else if (data.type === 'follow') {
      const leader = leaders.get(data.name)
      if (leader && ports[0] && (await isAlive(leader.alive))) leader.port.postMessage({ type: 'connect', id: data.id }, [ports[0]])
      else port.postMessage({ type: 'no-leader', id: data.id })
    }
  }
}

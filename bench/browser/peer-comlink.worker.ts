// The bare comlink baseline: the same payloads from a Map, no tiermem.
import { expose } from 'comlink'

const map = new Map<string, unknown>()
expose({
  load(entries: Array<[string, unknown]>) {
    for (const [k, v] of entries) map.set(k, v)
  },
  get(key: string) {
    return map.get(key)
  },
})

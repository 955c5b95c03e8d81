// A plain Node script: the engine in-process, no bundler, no TypeScript.
import { createMemory, isTiermemError } from 'tiermem/core'

const mem = await createMemory()
await mem.put('pref:diet', 'vegetarian', { type: 'fact', layer: 'insights', importance: 0.9 })
const value = await mem.get('pref:diet')
const entry = await mem.getEntry('pref:diet')
let refused
try {
  await mem.put('bad', () => 1)
} catch (error) {
  refused = isTiermemError(error) ? error.code : `not a TiermemError: ${error}`
}
await mem.close()
console.log(JSON.stringify({ value, tier: entry.tier, layer: entry.layer, refused }))

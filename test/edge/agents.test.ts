import { bundleForWorkerd } from '../../scripts/bundle-for-workerd.ts'
import { Miniflare } from 'miniflare'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { objectStub } from './cloudflare/workerd.ts'

/**
 * examples/agents: tiermem inside an Agents SDK `Agent`, on the agent's own SQLite storage, bundled
 * as wrangler bundles it and run in workerd.
 */
interface MemoryAgentStub {
  setName(name: string): Promise<void>
  getSchedules(): Promise<Array<{ callback: string }>>
  remember(key: string, value: unknown, ttlMs?: number): Promise<{ key: string; layer: string }>
  recallValue(key: string): Promise<unknown>
}

let script: string
let persist: string
const start = () =>
  new Miniflare({
    modules: true,
    script,
    compatibilityDate: '2026-04-01',
    compatibilityFlags: ['nodejs_compat'],
    durableObjects: { MemoryAgent: { className: 'MemoryAgent', useSQLite: true } },
    durableObjectsPersist: persist,
  })
beforeAll(async () => {
  script = await bundleForWorkerd(fileURLToPath(new URL('../../examples/agents/memory-agent.ts', import.meta.url)), { nodeCompat: true })
  persist = mkdtempSync(join(tmpdir(), 'tiermem-agent-'))
}, 90_000)
afterAll(() => rmSync(persist, { recursive: true, force: true }))

describe('tiermem in an Agents SDK agent', () => {
  it('keeps the agent’s memories in the agent’s own storage, its upkeep on the agent’s schedule, across a restart', async () => {
    let mf = start()
    let agent = await objectStub<MemoryAgentStub>(mf, 'MemoryAgent', 'assistant-1')
    await agent.setName('assistant-1')
    const info = await agent.remember('user-likes', { tea: 'green' })
    expect([info.key, info.layer]).toEqual(['user-likes', 'insights'])
    expect((await agent.getSchedules()).map((s) => s.callback)).toContain('tiermemUpkeep')
    await mf.dispose()

    mf = start()
    agent = await objectStub<MemoryAgentStub>(mf, 'MemoryAgent', 'assistant-1')
    await agent.setName('assistant-1')
    expect(JSON.parse(JSON.stringify(await agent.recallValue('user-likes')))).toEqual({ tea: 'green' })
    await mf.dispose()
  })
})

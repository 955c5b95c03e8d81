import './style.css'
import { isTiermemError, openMemory, type MemoryEvents, type RemoteMemory, type TaskScope } from 'tiermem'
import { chosenModel, embeddingOptions, modelReady, renderEmbeddingStats, showEmbedding, showSimilar } from './embeddings-panel.ts'
import { embeddingWorker } from 'tiermem/embeddings'
import { explainPressure, logEvent, recordLevel, renderHealth, renderPressure, renderTiers } from './dashboard.ts'
import { createEntryBrowser } from './entry-browser.ts'
import { byId, bytes } from './format.ts'
import { generateLoad } from './load-generator.ts'
import { createTierChart } from './tier-chart.ts'
import { setUpBackups } from './backup-panel.ts'

/** Budgets small enough that a few hundred messages show every tier at work. */
const BUDGETS = { hot: { maxBytes: 256 * 1024 }, warm: { maxBytes: 1024 * 1024 }, cold: { maxBytes: 64 * 1024 * 1024 } }

const status = byId('status')
const controlStatus = byId('control-status')
const say = (text: string) => (controlStatus.textContent = text)

async function start(): Promise<void> {
  const options = {
    name: 'playground',
    ...BUDGETS,
    // Short idle times and a frequent gc so moves between tiers happen while you watch.
    maintenanceIntervalMs: 3_000,
    policy: { hotIdleMs: 30_000, warmIdleMs: 120_000, layers: { interact: { maxEntries: 5_000 } } },
    pressure: { checkIntervalMs: 2_000, scopeWaitMs: 0 },
  }
  let mem: RemoteMemory
  let embedding = true
  try {
    // The engine's worker with an embedder in it: the model loads next to the engine.
    mem = await openMemory({ ...options, worker: () => embeddingWorker(), embeddings: embeddingOptions() })
    modelReady(undefined)
  } catch (error) {
    if (isTiermemError(error, 'LOCKED')) throw error
    // A model that cannot load (offline, say) costs the embeddings, not the playground.
    embedding = false
    modelReady(undefined, `${chosenModel()} did not load (${error instanceof Error ? error.message : String(error)})`)
    mem = await openMemory(options)
  }
  byId('backend').textContent = `cold: ${mem.coldBackend}`
  void mem.requestPersistence().then((persisted) => (byId('persisted').textContent = persisted ? 'storage: persisted' : 'storage: best effort'))

  const describe: { [E in keyof MemoryEvents]: (e: MemoryEvents[E]) => string } = {
    promoted: (e) => `promoted ${e.key}: ${e.from} → ${e.to}`,
    demoted: (e) => `demoted ${e.key}: ${e.from} → ${e.to}`,
    evicted: (e) => `evicted ${e.key} (${e.reason}, ${bytes(e.sizeBytes)})`,
    cleanup: (e) => `cleanup of ${e.layer}: removed ${e.removed}, ${e.remaining}/${e.capacity} left`,
    alert: (e) => `alert ${e.name} (${e.severity})`,
    layerChanged: (e) => `${e.key}: layer ${e.from} → ${e.to} (${e.reason})`,
    pressure: (e) => `pressure ${e.level} (${(e.ratio * 100).toFixed(0)} %)`,
    reembedded: (e) => `re-embedded ${e.done} vectors with ${e.model}, ${e.remaining} left`,
  }
  let level = (await mem.stats()).pressure.level as string
  for (const name of Object.keys(describe) as Array<keyof MemoryEvents>) {
    await mem.on(name, (e) => {
      logEvent((describe[name] as (x: unknown) => string)(e), name)
      if (name === 'pressure') {
        const report = e as MemoryEvents['pressure']
        recordLevel(level, report)
        level = report.level
      }
    })
  }

  const updateChart = createTierChart(byId('chart'))
  const refreshEntries = createEntryBrowser(mem)
  let ticks = 0
  const showRole = () => (byId('role').textContent = mem.role === 'leader' ? 'tab: leader (runs the engine)' : 'tab: follower (uses the leading tab’s engine)')
  showRole()
  const refresh = async () => {
    showRole()
    const stats = await mem.stats()
    renderTiers(stats)
    renderPressure(stats.pressure)
    renderHealth(stats)
    renderEmbeddingStats(stats)
    updateChart(stats)
    if (ticks++ % 3 === 0) await refreshEntries()
  }
  setInterval(() => void refresh().catch((error: unknown) => say(`refresh failed: ${String(error)}`)), 1_000)

  // Messages typed by hand, optionally inside a task scope.
  let scope: TaskScope | undefined
  let scopeCount = 0
  const importance = byId<HTMLInputElement>('importance')
  importance.addEventListener('input', () => (byId('importance-value').textContent = Number(importance.value).toFixed(2)))
  byId('chat-form').addEventListener('submit', async (event) => {
    event.preventDefault()
    const box = byId<HTMLTextAreaElement>('message')
    const text = box.value.trim()
    if (!text) return
    const value = { role: 'user', text, at: Date.now() }
    // With a model, the message's vector is stored with it (the text is already in the cache: typing embedded it).
    const options = { type: 'message', importance: Number(importance.value), tags: ['chat'], ...(embedding ? { embed: true } : {}) }
    const useScope = scope && byId<HTMLInputElement>('in-scope').checked
    const info = useScope ? await scope!.put(`msg:${Date.now()}`, value, options) : await mem.put(`msg:${Date.now()}`, value, options)
    box.value = ''
    say(`remembered ${info.key} in ${info.tier} (${bytes(info.sizeBytes)})`)
    await refresh()
  })

  // As you type: the text's embedding, and the stored messages most like it.
  let typing: ReturnType<typeof setTimeout> | undefined
  byId('message').addEventListener('input', () => {
    clearTimeout(typing)
    const text = byId<HTMLTextAreaElement>('message').value.trim()
    if (!embedding || !text) return
    typing = setTimeout(() => {
      void (async () => {
        await showEmbedding(mem, text)
        await showSimilar(mem, text)
        await refresh()
      })().catch((error: unknown) => say(`embedding failed: ${error instanceof Error ? error.message : String(error)}`))
    }, 150)
  })

  byId('load-form').addEventListener('submit', async (event) => {
    event.preventDefault()
    const button = byId<HTMLButtonElement>('load-button')
    const progress = byId<HTMLProgressElement>('load-progress')
    const count = Math.max(10, Math.min(5000, Number(byId<HTMLInputElement>('load-count').value) || 600))
    button.disabled = true
    byId('load-status').textContent = `writing ${count} messages, then reading them…`
    try {
      await generateLoad(mem, count, (done) => (progress.value = done))
      byId('load-status').textContent = `done: ${count} messages written and ${count * 2} reads`
    } finally {
      button.disabled = false
      await refresh()
    }
  })

  byId('gc').addEventListener('click', async () => {
    const gc = await mem.gc()
    // gc relieves what it can (expired, orphaned, idle, over-budget tiers); the pressure check
    // then acts on the level. What is still high is said with what would relieve it.
    const pressure = await mem.checkPressure()
    say(
      `gc: ${gc.expired} expired, ${gc.orphaned} orphaned, ${gc.demoted} demoted, ${gc.promoted} promoted, ${gc.pressureEvicted} evicted; ${bytes(gc.freedBytes)} freed in ${gc.durationMs.toFixed(1)} ms. ${explainPressure(pressure)}`,
    )
    await refresh()
  })
  byId('shrink').addEventListener('click', async () => {
    const { tiers } = await mem.stats()
    // Budgets just above what is stored: pressure rises and the engine starts relieving it.
    await mem.configure({
      hot: { maxBytes: Math.max(8 * 1024, Math.floor(tiers.hot.bytes * 0.6)) },
      warm: { maxBytes: Math.max(16 * 1024, Math.floor((tiers.hot.bytes + tiers.warm.bytes) * 1.1)) },
    })
    say('budgets shrunk: watch the pressure level and the moves in the event log')
    await refresh()
  })
  byId('restore').addEventListener('click', async () => {
    await mem.configure(BUDGETS)
    await mem.checkPressure()
    say('budgets restored')
    await refresh()
  })
  byId('scope').addEventListener('click', async () => {
    const button = byId<HTMLButtonElement>('scope')
    const checkbox = byId<HTMLInputElement>('in-scope')
    if (scope) {
      await scope.close()
      say(`closed ${scope.taskId}: evidence kept in cold, the rest released`)
      scope = undefined
      button.textContent = 'Open task scope'
      checkbox.checked = false
      checkbox.disabled = true
    } else {
      scope = await mem.openScope(`task-${++scopeCount}`)
      say(`opened ${scope.taskId}: messages stored in it are released when it closes`)
      button.textContent = `Close ${scope.taskId}`
      checkbox.disabled = false
      checkbox.checked = true
    }
    await refresh()
  })
  byId('clear').addEventListener('click', async () => {
    const button = byId<HTMLButtonElement>('clear')
    const progress = byId<HTMLProgressElement>('clear-progress')
    button.disabled = true
    progress.hidden = false
    progress.value = 0
    try {
      const removed = await mem.clear({ onProgress: (done, total) => (progress.value = total === 0 ? 1 : done / total) })
      say(`cleared ${removed} entries`)
    } catch (error) {
      say(`clear stopped: ${error instanceof Error ? error.message : String(error)} (what was cleared stays cleared; Clear again to finish)`)
    } finally {
      button.disabled = false
      progress.hidden = true
      await refresh()
    }
  })

  setUpBackups(mem, say, refresh)

  await refresh()
  status.textContent = 'ready'
  status.dataset.state = 'ready'
}

start().catch((error: unknown) => {
  status.dataset.state = 'error'
  if (isTiermemError(error, 'LOCKED')) {
    // Another tab leads but does not answer (frozen, or a browser without SharedWorker): say so plainly.
    status.textContent = 'open in another tab'
    const banner = byId('banner')
    banner.textContent =
      'The playground is open in another tab of this browser that does not answer (frozen in the background, or this browser cannot share a memory between tabs). Close or wake the other tab, then reload this one.'
    banner.hidden = false
    return
  }
  status.textContent = `failed: ${error instanceof Error ? error.message : String(error)}`
  say(String(error))
})

import type { MemoryStats, PressureReport, Tier } from 'tiermem'
import { byId, bytes, clock, element, ms, percent } from './format.ts'

const TIERS: Tier[] = ['hot', 'warm', 'cold']
const LEVEL_THRESHOLDS = { warning: 0.7, critical: 0.8, emergency: 0.95 }

function levelOf(ratio: number): string {
  if (ratio >= LEVEL_THRESHOLDS.emergency) return 'emergency'
  if (ratio >= LEVEL_THRESHOLDS.critical) return 'critical'
  if (ratio >= LEVEL_THRESHOLDS.warning) return 'warning'
  return 'normal'
}

/** Per tier: entries, bytes, hit rate and p95 latency. */
export function renderTiers(stats: MemoryStats): void {
  for (const tier of TIERS) {
    const card = document.querySelector(`.tier[data-tier="${tier}"] dl`)!
    const rows: Array<[string, string]> = [
      ['entries', String(stats.tiers[tier].count)],
      ['bytes', bytes(stats.tiers[tier].bytes)],
      ['hit rate', percent(stats.hitRate[tier])],
      ['p95', ms(stats.latency[tier].p95, stats.latency[tier].count)],
    ]
    card.replaceChildren(
      ...rows.flatMap(([k, v]) => [element('dt', { textContent: k }), element('dd', { textContent: v, dataset: { field: k.replace(' ', '-') } })]),
    )
  }
}

/** The level, and each signal with its source and how full it is. */
export function renderPressure(pressure: PressureReport): void {
  const level = byId('level')
  level.textContent = pressure.level
  level.dataset.level = pressure.level
  byId('signals').replaceChildren(
    ...pressure.signals.map((s) => {
      const fill = element('span', { dataset: { level: levelOf(s.ratio) } })
      fill.style.width = `${Math.min(100, s.ratio * 100).toFixed(1)}%`
      return element('li', { title: `${bytes(s.used)} of ${bytes(s.limit)}`, dataset: { source: s.source } }, [
        element('span', { textContent: s.source }),
        element('span', { className: 'bar' }, [fill]),
        element('span', { textContent: percent(s.ratio) }),
      ])
    }),
  )
}

export function renderHealth(stats: MemoryStats): void {
  byId('health-score').textContent = String(stats.health.score)
  const list = stats.health.recommendations.length
    ? stats.health.recommendations.map((r) => element('li', { textContent: r.message, dataset: { priority: r.priority } }))
    : [element('li', { textContent: 'All tiers within their latency targets; no action needed.' })]
  byId('recommendations').replaceChildren(...list)
}

/** Level changes, newest last, so a short spike stays visible after relief. */
export function recordLevel(level: string): void {
  const history = byId('level-history')
  const past = history.dataset.levels ? history.dataset.levels.split(',') : []
  past.push(level)
  history.dataset.levels = past.slice(-8).join(',')
  history.textContent = `level changes: ${past.slice(-8).join(' → ')}`
}

/** Appends to the event log (newest first, bounded). */
export function logEvent(text: string, kind: string): void {
  const list = byId('events')
  list.prepend(element('li', { dataset: { kind } }, [element('time', { textContent: clock() }), text]))
  while (list.children.length > 200) list.lastElementChild!.remove()
}

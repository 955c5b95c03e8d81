import { defaultPressurePolicy, TIERS, type MemoryStats, type PressureReport } from 'tiermem'
import { byId, bytes, clock, element, ms, percent } from './format.ts'

/** The engine's default thresholds and hysteresis (the playground does not change them). */
const { thresholds: LEVEL_THRESHOLDS, hysteresis: HYSTERESIS } = defaultPressurePolicy()

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

const RANK = ['normal', 'warning', 'critical', 'emergency']

/** The signal that sets the level: the highest ratio. */
export function topSignal(pressure: PressureReport): PressureReport['signals'][number] | undefined {
  return pressure.signals.reduce<PressureReport['signals'][number] | undefined>((top, s) => (!top || s.ratio > top.ratio ? s : top), undefined)
}

/** Why the level changed: which signal crossed which threshold. */
export function levelChangeReason(previous: string, pressure: PressureReport): string {
  const top = topSignal(pressure)
  if (!top) return pressure.level
  const at = `${top.source} at ${percent(top.ratio)}`
  if (RANK.indexOf(pressure.level) > RANK.indexOf(previous)) {
    return `${pressure.level}: ${at} ≥ ${percent(LEVEL_THRESHOLDS[pressure.level as keyof typeof LEVEL_THRESHOLDS])}`
  }
  const left = LEVEL_THRESHOLDS[previous as keyof typeof LEVEL_THRESHOLDS]
  return `${pressure.level}: ${at}, below ${percent(left - HYSTERESIS)} (${previous} ${percent(left)} less the hysteresis)`
}

/** Level changes with their reasons, newest first, so a short spike stays visible after relief. */
export function recordLevel(previous: string, pressure: PressureReport): void {
  const history = byId('level-history')
  history.prepend(element('li', { dataset: { level: pressure.level } }, [element('time', { textContent: clock() }), levelChangeReason(previous, pressure)]))
  while (history.children.length > 8) history.lastElementChild!.remove()
}

/** What would relieve each signal that is still at warning or above, after a gc. */
export function explainPressure(pressure: PressureReport): string {
  const high = pressure.signals.filter((s) => s.ratio >= LEVEL_THRESHOLDS.warning)
  if (high.length === 0) return `pressure ${pressure.level}: every signal is below ${percent(LEVEL_THRESHOLDS.warning)}`
  const why = high.map((s) => {
    const at = `${s.source} is at ${percent(s.ratio)} (${bytes(s.used)} of ${bytes(s.limit)})`
    switch (s.source) {
      case 'budget:hot':
        return `${at}: hot entries move to warm as the engine checks pressure; Restore budgets to undo a shrink`
      case 'budget:warm':
        return `${at}: gc moved what it could to cold; Restore budgets to undo a shrink, or Clear store`
      case 'budget:cold':
        return `${at}: gc cannot shrink cold; only deleting entries (Clear store) or a larger cold budget relieves it`
      case 'storage':
        return `${at}: the origin's storage quota; gc cannot free it — delete entries (Clear store) or site data`
      default:
        return `${at}: the page's memory, not tiermem's to free — close other tabs`
    }
  })
  return `still ${pressure.level}: ${why.join('; ')}`
}

/** Appends to the event log (newest first, bounded). */
export function logEvent(text: string, kind: string): void {
  const list = byId('events')
  list.prepend(element('li', { dataset: { kind } }, [element('time', { textContent: clock() }), text]))
  while (list.children.length > 200) list.lastElementChild!.remove()
}

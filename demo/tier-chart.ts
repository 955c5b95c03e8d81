import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import type { MemoryStats } from 'tiermem'
import { bytes } from './format.ts'

const WINDOW = 120

/** Tier sizes over the last two minutes (one point per refresh). */
export function createTierChart(target: HTMLElement): (stats: MemoryStats) => void {
  const data: [number[], number[], number[], number[]] = [[], [], [], []]
  const width = () => Math.max(320, target.clientWidth)
  const chart = new uPlot(
    {
      width: width(),
      height: 220,
      scales: { x: { time: true } },
      axes: [{}, { values: (_u, ticks) => ticks.map((t) => bytes(t)), size: 84 }],
      padding: [8, 8, 0, 4],
      series: [
        {},
        { label: 'hot', stroke: '#e4572e', width: 2, value: (_u, v) => (v == null ? '–' : bytes(v)) },
        { label: 'warm', stroke: '#f3a712', width: 2, value: (_u, v) => (v == null ? '–' : bytes(v)) },
        { label: 'cold', stroke: '#2e86ab', width: 2, value: (_u, v) => (v == null ? '–' : bytes(v)) },
      ],
    },
    data,
    target,
  )
  new ResizeObserver(() => chart.setSize({ width: width(), height: 220 })).observe(target)
  return (stats) => {
    data[0].push(Date.now() / 1000)
    data[1].push(stats.tiers.hot.bytes)
    data[2].push(stats.tiers.warm.bytes)
    data[3].push(stats.tiers.cold.bytes)
    if (data[0].length > WINDOW) for (const series of data) series.shift()
    chart.setData(data)
    // The legend shows the latest sizes unless the cursor is over the chart (then its point's).
    if (chart.cursor.idx == null) chart.setLegend({ idx: data[0].length - 1 })
  }
}

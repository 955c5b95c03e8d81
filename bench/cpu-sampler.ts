/**
 * CPU time by thread of the browser's processes, from Linux's /proc (BENCH_CPU=1). The page
 * marks a window with console lines `cpu:start <label>` / `cpu:end <label>`; the runner prints
 * where the CPU went in it (process type and thread name, summed over processes). How the
 * warm → cold analysis found IndexedDB's page deletes competing with the compressor.
 */
import { readdirSync, readFileSync } from 'node:fs'

type Sample = Map<string, number>

function sample(): Sample {
  const ticks: Sample = new Map()
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    let command: string
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    } catch {
      continue
    }
    if (!command.includes('chrom')) continue
    const type = /--type=([a-z-]+)/.exec(command)?.[1] ?? 'browser'
    let threads: string[]
    try {
      threads = readdirSync(`/proc/${pid}/task`)
    } catch {
      continue
    }
    for (const tid of threads) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
        // utime + stime, in clock ticks (fields 14 and 15 of stat; 11 and 12 after the name).
        ticks.set(`${type}\t${tid}\t${name}`, Number(fields[11]) + Number(fields[12]))
      } catch {
        // the thread ended between listing and reading
      }
    }
  }
  return ticks
}

/** Handles the page's console lines; returns true for a marker. */
export function cpuSampler(print: (line: string) => void): (text: string) => boolean {
  const open = new Map<string, { at: number; ticks: Sample }>()
  return (text) => {
    const mark = /^cpu:(start|end) (.+)$/.exec(text)
    if (!mark) return false
    const [, edge, label] = mark as unknown as [string, string, string]
    if (edge === 'start') {
      open.set(label, { at: performance.now(), ticks: sample() })
      return true
    }
    const began = open.get(label)
    if (!began) return true
    open.delete(label)
    const byThread = new Map<string, number>()
    for (const [key, ticks] of sample()) {
      const used = ticks - (began.ticks.get(key) ?? 0)
      if (used <= 0) continue
      const [type, tid, name] = key.split('\t')
      // Dedicated workers one by one (the engine's and its compressor share a name).
      const kind = name === 'DedicatedWorker' ? `${type} ${name}#${tid}` : `${type} ${name}`
      byThread.set(kind, (byThread.get(kind) ?? 0) + used * 10) // 100 ticks a second
    }
    const top = [...byThread]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 7)
      .map(([kind, ms]) => `${ms} ms ${kind}`)
    print(`cpu ${label}: ${(performance.now() - began.at).toFixed(0)} ms wall; ${top.join(' | ')}`)
    return true
  }
}

/**
 * How the browser bench turns rounds into figures a reader can trust: each measure is divided by
 * its peer's from the same round (this machine's speed drifts by ±30 % within a minute, so a
 * ratio of two medians can pair a fast stretch of one with a slow stretch of the other), the
 * median of those ratios is reported with their spread, and a run whose peers drifted is flagged.
 */

export interface Row {
  group: string
  name: string
  value: number
  unit: string
  peer?: string
  ratio?: number
  /** The lowest and highest of the rounds' ratios. */
  spread?: [number, number]
  /** A peer's own rounds differed by more than DRIFT: the machine changed speed during the measure. */
  drifted?: boolean
  goal?: string
  pass?: boolean
}

export type Add = (row: Row) => void

/** Each body's result in every round. */
export type Rounds = Record<string, number[]>

/** A peer whose slowest round is more than this many times its fastest drifted. */
export const DRIFT = 1.5

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** The median over rounds of a[r] / b[r], the spread of those ratios, and whether either side drifted. */
export function paired(rounds: Rounds, a: string, b: string): { ratio: number; spread: [number, number]; drifted: boolean } {
  const ratios = roundRatios(rounds, a, b)
  const drifts = (xs: number[]) => Math.max(...xs) > DRIFT * Math.min(...xs)
  return { ratio: median(ratios), spread: [Math.min(...ratios), Math.max(...ratios)], drifted: drifts(rounds[a]!) || drifts(rounds[b]!) }
}

export function roundRatios(rounds: Rounds, a: string, b: string): number[] {
  return rounds[a]!.map((value, r) => value / rounds[b]![r]!)
}

/**
 * Under `deno test`, the contract suites import 'vitest' and get this instead (deno.json maps it):
 * describe/it become Deno.test steps, expect is Jest's (the API vitest's follows). Only what the
 * contract suites use is here.
 */
import { expect } from 'expect'

declare const Deno: {
  test(name: string, fn: () => Promise<void> | void): void
}

const path: string[] = []

export function describe(name: string, body: () => void): void {
  path.push(name)
  try {
    body()
  } finally {
    path.pop()
  }
}

export function it(name: string, fn: () => Promise<void> | void): void {
  Deno.test([...path, name].join(' › '), fn)
}

export { expect }

import fc from 'fast-check'
import type { Memory, TaskScope } from '../../src/core/index.ts'

/**
 * A model-based test with concurrency, run against any way of opening a memory (in-process in
 * Node, through the worker in Chromium). Each round issues a batch of calls together — nobody
 * awaits anything until the whole batch is out — and every answer is checked against a plain
 * Map to which the same calls were applied one by one in issue order. Rounds end by carrying on,
 * by a clean reopen, or by a crash in the middle of the batch: then what survives must be the
 * model after some prefix of the batch that includes every acknowledged write.
 */

export interface ModelTarget {
  /** Opens the memory (the same stored data every time). */
  open(): Promise<Memory>
  /** Arms a crash that strikes while the next batch runs (`at` in 0..1: how far into it). */
  armCrash(at: number): void
  /** Kills the memory now if the armed crash has not struck yet; afterwards it is reopened. */
  crashNow(): Promise<void>
}

const KEYS = ['a', 'b', 'c', 'job:x', 'job:y'] as const
const SCOPE_KEYS = ['x', 'y'] as const
type Key = (typeof KEYS)[number]
type Tier = 'hot' | 'warm' | 'cold'

export type Op =
  | { kind: 'put'; key: Key; value: number; tier?: Tier; durable: boolean }
  | { kind: 'putMany'; items: Array<{ key: Key; value: number; tier?: Tier }> }
  | { kind: 'delete'; key: Key }
  | { kind: 'get' | 'has' | 'getEntry'; key: Key }
  | { kind: 'getMany'; keys: Key[] }
  | { kind: 'query' }
  | { kind: 'promote' | 'demote'; key: Key }
  | { kind: 'scopePut'; key: (typeof SCOPE_KEYS)[number]; value: number }
  | { kind: 'scopeClose' }
  | { kind: 'gc' }

export interface Round {
  ops: Op[]
  end: 'carry-on' | 'reopen' | 'crash'
  crashAt: number
}

const key = fc.constantFrom(...KEYS)
const value = fc.integer({ min: 0, max: 999 })
const tier = fc.option(fc.constantFrom<Tier>('hot', 'warm', 'cold'), { nil: undefined })
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('put' as const), key, value, tier, durable: fc.constantFrom(true, true, true, false) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('putMany' as const), items: fc.array(fc.record({ key, value, tier }), { minLength: 1, maxLength: 3 }) }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), key }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constantFrom('get' as const, 'has' as const, 'getEntry' as const), key }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('getMany' as const), keys: fc.array(key, { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'query' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('promote' as const, 'demote' as const), key }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('scopePut' as const), key: fc.constantFrom(...SCOPE_KEYS), value }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'scopeClose' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'gc' as const }) },
)
const round: fc.Arbitrary<Round> = fc.record({
  ops: fc.array(op, { minLength: 1, maxLength: 14 }),
  end: fc.constantFrom<Round['end']>('carry-on', 'carry-on', 'reopen', 'crash'),
  crashAt: fc.double({ min: 0, max: 1, noNaN: true }),
})
export const rounds = (maxRounds: number) => fc.array(round, { minLength: 1, maxLength: maxRounds })

interface Entry {
  value: number
  durable: boolean
  scoped: boolean
}
type State = Map<string, Entry>

/** What a call answers in the model: a value, or the error code it must fail with. */
type Answer = { ok: unknown } | { code: string }

/** Applies one call to the model; returns its answer. `scope.closed`: close() was issued. */
function apply(state: State, scope: { open: boolean; closed: boolean }, o: Op): Answer {
  switch (o.kind) {
    case 'put': {
      state.set(o.key, { value: o.value, durable: o.durable, scoped: state.get(o.key)?.scoped ?? false })
      return { ok: o.key }
    }
    case 'putMany':
      for (const item of o.items) state.set(item.key, { value: item.value, durable: true, scoped: state.get(item.key)?.scoped ?? false })
      return { ok: o.items.map((i) => i.key) }
    case 'delete': {
      const had = state.has(o.key)
      state.delete(o.key)
      return { ok: had }
    }
    case 'get':
      return { ok: state.get(o.key)?.value }
    case 'has':
      return { ok: state.has(o.key) }
    case 'getEntry':
      return { ok: state.has(o.key) ? o.key : undefined }
    case 'getMany':
      return { ok: o.keys.map((k) => state.get(k)?.value) }
    case 'query':
      return { ok: [...state.keys()].sort() }
    case 'promote':
    case 'demote':
      return state.has(o.key) ? { ok: 'tier' } : { code: 'NOT_FOUND' }
    case 'scopePut': {
      if (!scope.open || scope.closed) return { code: 'CLOSED' }
      const full = `job:${o.key}`
      const prior = state.get(full)
      if (prior && !prior.scoped) return { code: 'INVALID_KEY' }
      state.set(full, { value: o.value, durable: true, scoped: true })
      return { ok: full }
    }
    case 'scopeClose':
      if (!scope.open || scope.closed) return { ok: undefined }
      scope.closed = true
      for (const [k, e] of state) if (e.scoped) state.delete(k)
      return { ok: undefined }
    case 'gc':
      return { ok: 'gc' }
  }
}

const WRITES = new Set<Op['kind']>(['put', 'putMany', 'delete', 'scopePut', 'scopeClose'])

/** Issues one call; its answer in the model's shape. */
function issue(mem: Memory, scope: TaskScope | undefined, o: Op): Promise<Answer> {
  const answer = (p: Promise<unknown>, shape: (v: unknown) => unknown = (v) => v): Promise<Answer> =>
    p.then(
      (v) => ({ ok: shape(v) }),
      (e: { code?: string }) => ({ code: e?.code ?? `raw ${String(e)}` }),
    )
  switch (o.kind) {
    case 'put':
      return answer(mem.put(o.key, o.value, { durable: o.durable, ...(o.tier && o.durable ? { tier: o.tier } : {}) }), (info) => (info as { key: string }).key)
    case 'putMany':
      return answer(mem.putMany(o.items.map((i) => ({ key: i.key, value: i.value, ...(i.tier ? { tier: i.tier } : {}) }))), (infos) =>
        (infos as Array<{ key: string }>).map((i) => i.key),
      )
    case 'delete':
      return answer(mem.delete(o.key))
    case 'get':
      return answer(mem.get(o.key))
    case 'has':
      return answer(mem.has(o.key))
    case 'getEntry':
      return answer(mem.getEntry(o.key), (info) => (info as { key: string } | undefined)?.key)
    case 'getMany':
      return answer(mem.getMany(o.keys))
    case 'query':
      return answer(mem.query({}), (infos) => (infos as Array<{ key: string }>).map((i) => i.key).sort())
    case 'promote':
    case 'demote':
      return answer(mem[o.kind](o.key), () => 'tier')
    case 'scopePut':
      return scope ? answer(scope.put(o.key, o.value), (info) => (info as { key: string }).key) : Promise.resolve({ code: 'CLOSED' })
    case 'scopeClose':
      return scope ? answer(scope.close()) : Promise.resolve({ ok: undefined })
    case 'gc':
      return answer(mem.gc(), () => 'gc')
  }
}

/** What a reopen leaves of a state: durable entries, less those of scopes that no longer exist. */
function afterReopen(state: State): State {
  return new Map([...state].filter(([, e]) => e.durable && !e.scoped))
}

async function observe(mem: Memory): Promise<Record<string, unknown>> {
  const values = await mem.getMany([...KEYS])
  const present = await Promise.all(KEYS.map((k) => mem.has(k)))
  return Object.fromEntries(KEYS.flatMap((k, i) => (present[i] ? [[k, values[i]]] : [])))
}

const view = (state: State) => Object.fromEntries(KEYS.flatMap((k) => (state.has(k) ? [[k, state.get(k)!.value]] : [])))

/** Calls cut by crashes so far, over every run: a crash test proves something only if crashes cut calls. */
export const cutCalls = { count: 0 }

/** Runs rounds against a target; throws with what differed from the model. */
export async function runRounds(target: ModelTarget, plan: Round[]): Promise<void> {
  let mem = await target.open()
  let state: State = new Map()
  let scope: TaskScope | undefined
  const scopeState = { open: false, closed: false }
  try {
    for (const [r, { ops, end, crashAt }] of plan.entries()) {
      if (!scope || scopeState.closed) {
        scope = await mem.openScope('job')
        Object.assign(scopeState, { open: true, closed: false })
      }
      const crash = end === 'crash'
      if (crash) target.armCrash(crashAt)
      // Everything is issued before anything is awaited.
      const pending = ops.map((o) => issue(mem, scope, o))
      const expected: Answer[] = []
      const states: State[] = [new Map(state)]
      for (const o of ops) {
        expected.push(apply(state, scopeState, o))
        states.push(new Map(state))
      }
      const answers = await Promise.all(pending)
      let lastAcknowledged = 0
      for (let i = 0; i < ops.length; i++) {
        const got = answers[i]!
        // The first call the crash cut: it and everything after it may have landed or not, and
        // calls after it that did not need the store answered from a state the model cannot know.
        if (crash && 'code' in got && JSON.stringify(got) !== JSON.stringify(expected[i])) {
          cutCalls.count += ops.length - i
          break
        }
        if (JSON.stringify(got) !== JSON.stringify(expected[i])) {
          throw new Error(`round ${r}, call ${i} ${JSON.stringify(ops[i])}: answered ${JSON.stringify(got)}, the model says ${JSON.stringify(expected[i])}`)
        }
        if (WRITES.has(ops[i]!.kind) && 'ok' in got) lastAcknowledged = i + 1
      }
      if (end === 'carry-on') continue
      if (crash) await target.crashNow()
      await mem.close().catch(() => undefined)
      mem = await target.open()
      scope = undefined
      Object.assign(scopeState, { open: false, closed: true })
      const seen = await observe(mem)
      if (crash) {
        // Some prefix of the batch landed, holding at least every acknowledged write.
        const fits = states
          .slice(lastAcknowledged)
          .map(afterReopen)
          .find((s) => JSON.stringify(view(s)) === JSON.stringify(seen))
        if (!fits)
          throw new Error(
            `round ${r}: after the crash the memory holds ${JSON.stringify(seen)}, which no prefix of the batch from call ${lastAcknowledged} on explains`,
          )
        state = fits
      } else {
        state = afterReopen(state)
        if (JSON.stringify(view(state)) !== JSON.stringify(seen))
          throw new Error(`round ${r}: after reopening the memory holds ${JSON.stringify(seen)}, the model ${JSON.stringify(view(state))}`)
      }
    }
    const seen = await observe(mem)
    if (JSON.stringify(view(state)) !== JSON.stringify(seen))
      throw new Error(`at the end the memory holds ${JSON.stringify(seen)}, the model ${JSON.stringify(view(state))}`)
  } finally {
    await mem.close().catch(() => undefined)
  }
}

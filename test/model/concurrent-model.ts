import fc from 'fast-check'
import type { EntryInfo, Memory, TaskScope } from '../../src/core/index.ts'

/**
 * A model-based test with concurrency, run against any way of opening a memory (in-process in
 * Node, through the worker in Chromium). Each round issues a batch of calls together — nobody
 * awaits anything until the whole batch is out — and every answer is checked against a plain
 * Map to which the same calls were applied one by one in issue order. Rounds end by carrying on,
 * by a clean reopen, or by a crash in the middle of the batch: then what survives must be the
 * model after some prefix of the batch that includes every acknowledged write.
 *
 * Values range from small numbers, packed many to a warm page, to values too large for a page
 * (stored alone) and larger than a cold block. Keys live in two namespaces; references (retain,
 * release, the task scope's hold) and gc's orphans are modelled. With a clock the target
 * controls, puts carry time-to-live and rounds start later: an expired entry is absent for every
 * call at once, gc or no gc.
 */

export interface ModelTarget {
  /** Opens the memory (the same stored data every time). */
  open(): Promise<Memory>
  /** Arms a crash that strikes while the next batch runs (`at` in 0..1: how far into it). */
  armCrash(at: number): void
  /** Kills the memory now if the armed crash has not struck yet; afterwards it is reopened. */
  crashNow(): Promise<void>
  /** The memory's clock, where the target injects one: then puts may expire (see `rounds`). */
  clock?: { now(): number; advance(ms: number): void }
}

/** Keys of the default namespace, and (`other/…`) of a second one: the same key in both is two entries. */
const DEFAULT_KEYS = ['a', 'b', 'c', 'job:x', 'job:y'] as const
const OTHER_KEYS = ['other/a', 'other/b'] as const
const KEYS = [...DEFAULT_KEYS, ...OTHER_KEYS] as const
const SCOPE_KEYS = ['x', 'y'] as const
/** Keys retain() and release() name: never the scope's, whose hold is its own. */
const HELD_KEYS = ['a', 'b', 'other/a'] as const
type Key = (typeof KEYS)[number]
const OTHER = 'other'

/** A model key as the API takes it: the key, and its namespace where it is not the default. */
function split(key: string): { key: string; options: { namespace: string } | undefined } {
  return key.startsWith(`${OTHER}/`) ? { key: key.slice(OTHER.length + 1), options: { namespace: OTHER } } : { key, options: undefined }
}
/** An entry the API answers with, as a model key. */
const named = (info: { key: string; namespace: string }) => (info.namespace === OTHER ? `${OTHER}/${info.key}` : info.key)
type Tier = 'hot' | 'warm' | 'cold'
type EntryType = 'note' | 'fact'
type Tag = 'x' | 'y'
/** The filters query() is asked with: all entries, or by type, tag or namespace. */
type QueryFilter = { type?: EntryType | 'context'; tag?: Tag; namespace?: typeof OTHER }
/** A stored value: a number, or a record padded to a size (`pad` repeats one letter). */
type Value = number | { n: number; pad: string }

export type Op =
  | { kind: 'put'; key: Key; value: Value; tier?: Tier; durable: boolean; ttlMs?: number; type?: EntryType; tags?: Tag[] }
  | { kind: 'putMany'; items: Array<{ key: Key; value: Value; tier?: Tier }> }
  | { kind: 'delete' | 'evict' | 'restore'; key: Key }
  | { kind: 'retain' | 'release'; key: (typeof HELD_KEYS)[number] }
  | { kind: 'get' | 'peek' | 'has' | 'getEntry'; key: Key }
  /** Keys of one namespace: getMany takes one. */
  | { kind: 'getMany'; keys: Key[] }
  | { kind: 'query'; filter: QueryFilter }
  | { kind: 'promote' | 'demote'; key: Key }
  | { kind: 'scopePut'; key: (typeof SCOPE_KEYS)[number]; value: number }
  | { kind: 'scopeClose' }
  | { kind: 'gc' }
  | { kind: 'clear'; namespace?: 'default' | typeof OTHER }
  | { kind: 'archive'; level: number }

export interface Round {
  /** How far the clock moves before the round's calls are issued (0 without a clock). */
  advanceMs: number
  ops: Op[]
  end: 'carry-on' | 'reopen' | 'crash'
  crashAt: number
}

const key = fc.constantFrom(...KEYS)
// 8 KiB and more is too large for a warm page; 70,000 characters is more than a 64 KiB cold block.
const value: fc.Arbitrary<Value> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 999 }) },
  {
    weight: 2,
    arbitrary: fc.record({ n: fc.integer({ min: 0, max: 999 }), pad: fc.constantFrom(10, 300, 9_000, 70_000).map((size) => 'x'.repeat(size)) }),
  },
)
const tier = fc.option(fc.constantFrom<Tier>('hot', 'warm', 'cold'), { nil: undefined })
// TTLs and clock steps never sum to each other exactly, so no entry expires at the very moment a round starts.
const TTLS = [500, 5_000]
const STEPS = [700, 3_000]

function opArbitrary(withClock: boolean): fc.Arbitrary<Op> {
  const ttlMs = withClock ? fc.option(fc.constantFrom(...TTLS), { nil: undefined, freq: 3 }) : fc.constant(undefined)
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .record({
          kind: fc.constant('put' as const),
          key,
          value,
          tier,
          durable: fc.constantFrom(true, true, true, false),
          ttlMs,
          type: fc.option(fc.constantFrom<EntryType>('note', 'fact'), { nil: undefined }),
          tags: fc.option(fc.subarray<Tag>(['x', 'y']), { nil: undefined }),
        })
        .map(({ ttlMs: ttl, type, tags, ...put }) => ({
          ...put,
          ...(ttl === undefined ? {} : { ttlMs: ttl }),
          ...(type === undefined ? {} : { type }),
          ...(tags === undefined ? {} : { tags }),
        })),
    },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('putMany' as const), items: fc.array(fc.record({ key, value, tier }), { minLength: 1, maxLength: 3 }) }),
    },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), key }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('evict' as const, 'restore' as const), key }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('retain' as const, 'release' as const), key: fc.constantFrom(...HELD_KEYS) }) },
    { weight: 5, arbitrary: fc.record({ kind: fc.constantFrom('get' as const, 'peek' as const, 'has' as const, 'getEntry' as const), key }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('getMany' as const),
        keys: fc.oneof(
          fc.array(fc.constantFrom(...DEFAULT_KEYS), { minLength: 1, maxLength: 3 }),
          fc.array(fc.constantFrom(...OTHER_KEYS), { minLength: 1, maxLength: 2 }),
        ),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('query' as const),
        filter: fc.constantFrom<QueryFilter>({}, { type: 'note' }, { type: 'context' }, { tag: 'x' }, { tag: 'y' }, { namespace: OTHER }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('promote' as const, 'demote' as const), key }) },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('scopePut' as const), key: fc.constantFrom(...SCOPE_KEYS), value: fc.integer({ min: 0, max: 999 }) }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'scopeClose' as const }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<Op>(
        { kind: 'gc' },
        { kind: 'gc' },
        { kind: 'clear' },
        { kind: 'clear', namespace: 'default' },
        { kind: 'clear', namespace: OTHER },
      ),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('archive' as const), level: fc.integer({ min: 1, max: 9 }) }) },
  )
}

/** Plans of up to `maxRounds` rounds; `withClock` (the target injects a clock): puts with TTLs and rounds that start later. */
export function rounds(maxRounds: number, { withClock = false } = {}): fc.Arbitrary<Round[]> {
  const round: fc.Arbitrary<Round> = fc.record({
    advanceMs: withClock ? fc.constantFrom(0, 0, ...STEPS) : fc.constant(0),
    ops: fc.array(opArbitrary(withClock), { minLength: 1, maxLength: 14 }),
    end: fc.constantFrom<Round['end']>('carry-on', 'carry-on', 'reopen', 'crash'),
    crashAt: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  return fc.array(round, { minLength: 1, maxLength: maxRounds })
}

interface Entry {
  value: Value
  durable: boolean
  /** Written by the task scope (which holds it until it closes). */
  scoped: boolean
  /** When it expires (clock time), or Infinity. */
  expiresAt: number
  /** References taken with retain() and not yet released. */
  refs: number
  /** Its last reference was released: the next gc deletes it. */
  orphan: boolean
  /** What the put that wrote it said (a put's own, not carried over from the value before). */
  type: EntryType | 'context'
  tags: Tag[]
  /**
   * A gc issued earlier in the round is deleting it (an orphan, or expired). gc is housekeeping:
   * reads issued after it do not wait for it, so they may still see the entry until the round
   * ends; writes wait for it, so for them it is gone.
   */
  fading?: true
}
type State = Map<string, Entry>

/**
 * What a call answers in the model: a value, or the error code it must fail with, or any of
 * several where the model cannot know which (an expired entry gc may or may not have reached).
 */
type Answer = { ok: unknown } | { code: string } | { either: Answer[] }

const matches = (got: Answer, expected: Answer): boolean =>
  'either' in expected ? expected.either.some((e) => matches(got, e)) : JSON.stringify(got) === JSON.stringify(expected)

/** The entry a call sees at `now`: none once it has expired. */
function live(state: State, now: number, key: string): Entry | undefined {
  const entry = state.get(key)
  return entry && entry.expiresAt > now ? entry : undefined
}

/** Who holds an entry: retain()s, and the scope that wrote it. */
const holds = (e: Entry) => e.refs + (e.scoped ? 1 : 0)

/** A new value for a key: references and the scope's hold stay with the key; a release before it no longer counts. */
function written(state: State, key: string, value: Value, durable: boolean, expiresAt: number, labels: Pick<Entry, 'type' | 'tags'> = CONTEXT): Entry {
  const prior = state.get(key)
  return { value, durable, scoped: prior?.scoped ?? false, expiresAt, refs: prior?.refs ?? 0, orphan: false, ...labels }
}
const CONTEXT: Pick<Entry, 'type' | 'tags'> = { type: 'context', tags: [] }

/** What gc deletes: orphans, and expired entries nobody holds; `fade`: mark them fading (see Entry) instead. */
function collect(state: State, now: number, fade = false): void {
  for (const [k, e] of state) {
    if (holds(e) !== 0 || !(e.orphan || e.expiresAt <= now)) continue
    if (fade) state.set(k, { ...e, fading: true })
    else state.delete(k)
  }
}

/** The gc has finished: what it was deleting is gone. */
function settle(state: State): State {
  for (const [k, e] of state) if (e.fading) state.delete(k)
  return state
}

/** Every answer a read may give while some of what it reads is fading: each fading part seen or not. */
function readAnswers<T>(entries: Array<Entry | undefined>, answerOf: (seen: Array<Entry | undefined>) => T): Answer {
  let options: Array<Array<Entry | undefined>> = [[]]
  for (const entry of entries)
    options = options.flatMap((seen) =>
      entry?.fading
        ? [
            [...seen, entry],
            [...seen, undefined],
          ]
        : [[...seen, entry]],
    )
  const answers = options.map((seen) => ({ ok: answerOf(seen) }))
  return answers.length === 1 ? answers[0]! : { either: answers }
}

/** The keys one call writes: it waits for a gc issued before it, so their fading entries are gone for it. */
function keysWritten(o: Op): string[] | 'all' {
  switch (o.kind) {
    case 'put':
    case 'delete':
    case 'evict':
    case 'retain':
    case 'release':
    case 'restore':
    case 'promote':
    case 'demote':
      return [o.key]
    case 'putMany':
      return o.items.map((i) => i.key)
    case 'scopePut':
      return [`job:${o.key}`]
    case 'scopeClose':
    case 'clear':
    case 'archive':
    case 'gc':
      return 'all'
    default:
      return []
  }
}

/** Applies one call to a state (changing it); returns its answer. `scope.closed`: close() was issued. */
function apply(state: State, now: number, scope: { open: boolean; closed: boolean }, o: Op): Answer {
  const see = (key: string) => live(state, now, key)
  const writes = keysWritten(o)
  if (writes === 'all') settle(state)
  else for (const k of writes) if (state.get(k)?.fading) state.delete(k)
  switch (o.kind) {
    case 'put':
      state.set(
        o.key,
        written(state, o.key, o.value, o.durable, o.ttlMs === undefined ? Number.POSITIVE_INFINITY : now + o.ttlMs, {
          type: o.type ?? 'context',
          tags: o.tags ?? [],
        }),
      )
      return { ok: o.key }
    case 'putMany':
      for (const item of o.items) state.set(item.key, written(state, item.key, item.value, true, Number.POSITIVE_INFINITY))
      return { ok: o.items.map((i) => i.key) }
    case 'delete': {
      const had = see(o.key) !== undefined
      state.delete(o.key)
      return { ok: had }
    }
    case 'evict': {
      const entry = see(o.key)
      if (!entry) return { code: 'NOT_FOUND' }
      if (holds(entry) > 0) return { code: 'REF_HELD' }
      state.delete(o.key)
      return { ok: undefined }
    }
    case 'retain': {
      const entry = see(o.key)
      if (!entry) return { code: 'NOT_FOUND' }
      const held = { ...entry, refs: entry.refs + 1, orphan: false }
      state.set(o.key, held)
      return { ok: holds(held) }
    }
    case 'release': {
      // A holder can let go of an expired entry too; one nobody holds may be gone already.
      const entry = state.get(o.key)
      if (!entry) return { code: 'NOT_FOUND' }
      if (holds(entry) === 0) return see(o.key) ? { code: 'NOT_HELD' } : { either: [{ code: 'NOT_HELD' }, { code: 'NOT_FOUND' }] }
      const released = { ...entry, refs: entry.refs - 1 }
      released.orphan = holds(released) === 0
      state.set(o.key, released)
      return { ok: holds(released) }
    }
    case 'restore':
      return see(o.key) ? { ok: 'restored' } : { code: 'NOT_FOUND' }
    case 'get':
    case 'peek':
      return readAnswers([see(o.key)], ([e]) => e?.value)
    case 'has':
      return readAnswers([see(o.key)], ([e]) => e !== undefined)
    case 'getEntry':
      return readAnswers([see(o.key)], ([e]) => (e ? o.key : undefined))
    case 'getMany':
      return readAnswers(o.keys.map(see), (seen) => seen.map((e) => e?.value))
    case 'query': {
      const { type, tag, namespace } = o.filter
      const fits = (k: string, e: Entry) =>
        (type === undefined || e.type === type) && (tag === undefined || e.tags.includes(tag)) && (namespace === undefined || k.startsWith(`${OTHER}/`))
      const found = [...state.keys()].sort().filter((k) => see(k) && fits(k, see(k)!))
      return readAnswers(found.map(see), (seen) => found.filter((_, i) => seen[i]))
    }
    case 'promote':
    case 'demote':
      return see(o.key) ? { ok: 'tier' } : { code: 'NOT_FOUND' }
    case 'scopePut': {
      if (!scope.open || scope.closed) return { code: 'CLOSED' }
      const full = `job:${o.key}`
      const prior = see(full)
      if (prior && !prior.scoped) return { code: 'INVALID_KEY' }
      state.set(full, { ...written(state, full, o.value, true, Number.POSITIVE_INFINITY), scoped: true })
      return { ok: full }
    }
    case 'scopeClose':
      if (!scope.open || scope.closed) return { ok: undefined }
      scope.closed = true
      // The scope lets go of what it wrote: what nobody else holds is deleted.
      for (const [k, e] of state) {
        if (!e.scoped) continue
        if (e.refs > 0) state.set(k, { ...e, scoped: false })
        else state.delete(k)
      }
      return { ok: undefined }
    case 'clear': {
      const inIt = (k: string) => o.namespace === undefined || (o.namespace === OTHER) === k.startsWith(`${OTHER}/`)
      const removed = [...state.keys()].filter((k) => inIt(k) && see(k)).length
      for (const k of [...state.keys()]) if (inIt(k)) state.delete(k)
      return { ok: removed }
    }
    case 'archive':
      return { ok: 'archive' }
    case 'gc':
      collect(state, now, true)
      return { ok: 'gc' }
  }
}

/** A call that changes stored data (gc too: what it deletes, it commits). */
function isWrite(o: Op): boolean {
  const keys = keysWritten(o)
  return keys === 'all' || keys.length > 0
}

/** Issues one call; its answer in the model's shape. */
function issue(mem: Memory, scope: TaskScope | undefined, o: Op): Promise<Answer> {
  const answer = (p: Promise<unknown>, shape: (v: unknown) => unknown = (v) => v): Promise<Answer> =>
    p.then(
      (v) => ({ ok: shape(v) }),
      (e: { code?: string }) => ({ code: e?.code ?? `raw ${String(e)}` }),
    )
  const one = 'key' in o ? split(o.key) : undefined
  switch (o.kind) {
    case 'put': {
      const options = {
        durable: o.durable,
        ...(o.tier && o.durable ? { tier: o.tier } : {}),
        ...(o.ttlMs === undefined ? {} : { ttlMs: o.ttlMs }),
        ...(o.type === undefined ? {} : { type: o.type }),
        ...(o.tags === undefined ? {} : { tags: o.tags }),
        ...one!.options,
      }
      return answer(mem.put(one!.key, o.value, options), (info) => named(info as EntryInfo))
    }
    case 'putMany':
      return answer(
        mem.putMany(o.items.map((i) => ({ ...split(i.key).options, key: split(i.key).key, value: i.value, ...(i.tier ? { tier: i.tier } : {}) }))),
        (infos) => (infos as EntryInfo[]).map(named),
      )
    case 'delete':
    case 'evict':
    case 'retain':
    case 'release':
    case 'get':
    case 'peek':
    case 'has':
      return answer(mem[o.kind](one!.key, one!.options))
    case 'restore':
      return answer(mem.restore(one!.key, one!.options), () => 'restored')
    case 'getEntry':
      return answer(mem.getEntry(one!.key, one!.options), (info) => (info ? named(info as EntryInfo) : undefined))
    case 'getMany':
      return answer(
        mem.getMany(
          o.keys.map((k) => split(k).key),
          split(o.keys[0]!).options,
        ),
      )
    case 'query':
      return answer(mem.query({ ...o.filter }), (infos) => (infos as EntryInfo[]).map(named).sort())
    case 'promote':
    case 'demote':
      return answer(mem[o.kind](one!.key, one!.options), () => 'tier')
    case 'scopePut':
      return scope ? answer(scope.put(o.key, o.value), (info) => (info as EntryInfo).key) : Promise.resolve({ code: 'CLOSED' })
    case 'scopeClose':
      return scope ? answer(scope.close()) : Promise.resolve({ ok: undefined })
    case 'gc':
      return answer(mem.gc(), () => 'gc')
    case 'clear':
      return answer(mem.clear(o.namespace === undefined ? undefined : { namespace: o.namespace }))
    case 'archive':
      return answer(mem.archive({ level: o.level }), () => 'archive')
  }
}

/** What a reopen leaves of a state: durable entries, less those of the scope, which no longer exists. */
function afterReopen(state: State): State {
  return new Map([...state].filter(([, e]) => e.durable && !e.scoped))
}

/** What a memory shows of each key: its value and how many hold it. */
async function observe(mem: Memory): Promise<Record<string, unknown>> {
  const [defaults, others, entries] = await Promise.all([
    mem.getMany([...DEFAULT_KEYS]),
    mem.getMany(
      OTHER_KEYS.map((k) => split(k).key),
      { namespace: OTHER },
    ),
    Promise.all(KEYS.map((k) => mem.getEntry(split(k).key, split(k).options))),
  ])
  const values = [...defaults, ...others]
  return Object.fromEntries(KEYS.flatMap((k, i) => (entries[i] ? [[k, [values[i], entries[i]!.refCount]]] : [])))
}

const view = (state: State, now: number) =>
  Object.fromEntries(KEYS.flatMap((k) => (live(state, now, k) ? [[k, [state.get(k)!.value, holds(state.get(k)!)]]] : [])))

/** Calls cut by crashes so far, over every run: a crash test proves something only if crashes cut calls. */
export const cutCalls = { count: 0 }

/** States that are the same, once. */
function distinct(states: State[]): State[] {
  const seen = new Set<string>()
  return states.filter((state) => {
    const id = JSON.stringify([...state].sort(([a], [b]) => (a < b ? -1 : 1)))
    return !seen.has(id) && (seen.add(id), true)
  })
}

/**
 * Runs rounds against a target; throws with what differed from the model. After a crash the
 * model may not know how much of the batch landed when two prefixes look the same from outside
 * (a retain and its release both cut or both landed): it keeps every state that fits, and drops
 * each as soon as an answer or a reopen contradicts it. Only if none is left is it a failure.
 */
export async function runRounds(target: ModelTarget, plan: Round[]): Promise<void> {
  let mem = await target.open()
  let worlds: State[] = [new Map()]
  let now = target.clock?.now() ?? 0
  let scope: TaskScope | undefined
  const scopeState = { open: false, closed: false }
  const showing = (seen: Record<string, unknown>) => distinct(worlds).filter((w) => JSON.stringify(view(w, now)) === JSON.stringify(seen))
  try {
    for (const [r, { advanceMs, ops, end, crashAt }] of plan.entries()) {
      if (advanceMs > 0 && target.clock) {
        target.clock.advance(advanceMs)
        now = target.clock.now()
      }
      if (!scope || scopeState.closed) {
        scope = await mem.openScope('job')
        Object.assign(scopeState, { open: true, closed: false })
      }
      const crash = end === 'crash'
      if (crash) target.armCrash(crashAt)
      // Everything is issued before anything is awaited.
      const pending = ops.map((o) => issue(mem, scope, o))
      const answers = await Promise.all(pending)
      const roundScope = { ...scopeState }
      let firstFailure = ''
      // Each state the model still holds, run through the batch: the states after each call, and how many calls it explains.
      const runs = worlds.flatMap((world) => {
        const state = new Map(world)
        const theScope = { ...roundScope }
        const states: State[] = [new Map(state)]
        const expected = ops.map((o) => {
          const answer = apply(state, now, theScope, o)
          states.push(new Map(state))
          return answer
        })
        let lastAcknowledged = 0
        for (let i = 0; i < ops.length; i++) {
          const got = answers[i]!
          // The first call the crash cut: it and everything after it may have landed or not, and
          // calls after it that did not need the store answered from a state the model cannot know.
          if (crash && 'code' in got && !matches(got, expected[i]!)) {
            cutCalls.count += ops.length - i
            break
          }
          if (!matches(got, expected[i]!)) {
            firstFailure ||= `round ${r}, call ${i} ${shorten(ops[i])}: answered ${shorten(got)}, the model says ${shorten(expected[i])}`
            return []
          }
          if (isWrite(ops[i]!) && 'ok' in got) lastAcknowledged = i + 1
        }
        Object.assign(scopeState, theScope)
        return [{ states, lastAcknowledged }]
      })
      if (runs.length === 0) throw new Error(firstFailure)
      if (end === 'carry-on') {
        // Every answer is in: a gc of the round has finished.
        worlds = distinct(runs.map((run) => settle(new Map(run.states.at(-1)!))))
        continue
      }
      if (crash) await target.crashNow()
      await mem.close().catch(() => undefined)
      mem = await target.open()
      scope = undefined
      Object.assign(scopeState, { open: false, closed: true })
      if (crash) {
        // Some prefix of the batch landed, holding at least every acknowledged write. A gc right
        // after the reopen deletes any orphan a landed release left, so what follows is known.
        await mem.gc()
        worlds = runs.flatMap(({ states, lastAcknowledged }) =>
          states.slice(lastAcknowledged).map((s) => {
            const after = afterReopen(s)
            collect(after, now)
            return after
          }),
        )
      } else {
        worlds = runs.map((run) => settle(afterReopen(run.states.at(-1)!)))
      }
      const seen = await observe(mem)
      const fitting = showing(seen)
      if (fitting.length === 0) {
        const model = crash ? 'no prefix of the batch from the last acknowledged write on explains it' : `the model ${shorten(view(worlds[0]!, now))}`
        throw new Error(`round ${r}: after ${crash ? 'the crash' : 'reopening'} the memory holds ${shorten(seen)}; ${model}`)
      }
      worlds = fitting
    }
    const seen = await observe(mem)
    if (showing(seen).length === 0) throw new Error(`at the end the memory holds ${shorten(seen)}, the model ${shorten(view(worlds[0]!, now))}`)
  } finally {
    await mem.close().catch(() => undefined)
  }
}

/** JSON with long padding cut to its length, so a failure stays readable. */
function shorten(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => (typeof v === 'string' && v.length > 40 ? `<${v.length} × ${v[0]}>` : v))
}

import { TiermemError } from '../api/errors.ts'

/**
 * What the codec stores exactly, checked before a value is encoded. A value reads back the same
 * from every tier (hot keeps primitives as given; warm and cold decode the bytes), so anything
 * the encoding would change is refused here with INVALID_VALUE instead of being changed:
 * strings with lone surrogates (UTF-8 turns them into U+FFFD), sparse arrays (holes would come
 * back as undefined), an own `__proto__` property (msgpackr renames it), and objects structured
 * clone refuses or that have no plain-data form (Promise, WeakMap, Blob, boxed primitives, …).
 * Cycles and shared references are kept. Not checked: named properties set on an array, which
 * the encoding drops (listing an array's keys costs about what encoding it does; documented in
 * docs/guarantees.md). Returns whether the value holds a -0 somewhere, which the codec then
 * writes in a form that keeps its sign.
 */
export function checkStorable(value: unknown): boolean {
  return new StorableWalk().run(value)
}

/** Where a string from the user is a name (a key, a namespace, a tag): true if it has no lone surrogate. */
export function isWellFormed(text: string): boolean {
  return (text as { isWellFormed?: () => boolean }).isWellFormed?.() ?? !LONE_SURROGATE.test(text)
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Built-ins msgpackr encodes and decodes as themselves. */
const KEPT_TAGS = new Set(['[object Date]', '[object RegExp]', '[object Error]', '[object ArrayBuffer]'])

/** Walks a value once; the path to what it refuses is built only when it refuses (puts are hot). */
class StorableWalk {
  /** Containers already walked (cycles and shared references); made at the first container. */
  private seen: Set<object> | undefined
  private readonly path: Array<string | number> = []
  private negativeZero = false

  run(value: unknown): boolean {
    this.visit(value)
    return this.negativeZero
  }

  private where(): string {
    let out = 'the value'
    for (const step of this.path) {
      out += typeof step === 'number' ? `[${step}]` : step.startsWith(' ') ? step : `.${step.length > 40 ? step.slice(0, 40) + '…' : step}`
    }
    return out
  }

  private visit(value: unknown): void {
    switch (typeof value) {
      case 'string':
        if (!isWellFormed(value)) throw loneSurrogate(this.where())
        return
      case 'number':
        if (value === 0 && 1 / value < 0) this.negativeZero = true
        return
      case 'function':
        throw refuse(`${this.where()} is a function`)
      case 'symbol':
        throw refuse(`${this.where()} is a symbol`)
      case 'object':
        if (value !== null) this.container(value)
        return
      default:
    }
  }

  private step(value: unknown, step: string | number): void {
    this.path.push(step)
    this.visit(value)
    this.path.pop()
  }

  private container(value: object): void {
    const seen = (this.seen ??= new Set())
    if (seen.has(value)) return
    seen.add(value)
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        if (!(i in value)) throw refuse(`${this.where()} is a sparse array (index ${i} is a hole); fill it, e.g. Array.from(array)`)
        this.step(value[i], i)
      }
      return
    }
    if (ArrayBuffer.isView(value)) return
    if (value instanceof Map) {
      for (const [k, v] of value) {
        this.step(k, ' (a Map key)')
        this.step(v, ' (a Map value)')
      }
      return
    }
    if (value instanceof Set) {
      for (const member of value) this.step(member, ' (a Set member)')
      return
    }
    const tag = Object.prototype.toString.call(value)
    if (KEPT_TAGS.has(tag)) return
    if (tag !== '[object Object]') throw refuse(`${this.where()} is a ${tag.slice(8, -1)}, which has no plain-data form`)
    if (Object.hasOwn(value, '__proto__')) throw refuse(`${this.where()} has an own property named __proto__`)
    for (const key in value) {
      if (!isWellFormed(key)) throw loneSurrogate(`a property name in ${this.where()}`)
      this.path.push(key)
      this.visit((value as Record<string, unknown>)[key])
      this.path.pop()
    }
  }
}

function loneSurrogate(where: string): TiermemError {
  return refuse(`${where} holds a lone surrogate (half of a UTF-16 pair), which no tier keeps as is; use text.toWellFormed()`)
}

function refuse(why: string): TiermemError {
  return new TiermemError(
    'INVALID_VALUE',
    `the value cannot be stored: ${why}; store plain data: objects, arrays, strings, numbers, booleans, null, ` + 'Date, Map, Set, typed arrays or ArrayBuffer',
  )
}

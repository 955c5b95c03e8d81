import { DOT_SIMD_WASM } from './dot-simd-bytes.ts'

/**
 * Where the index's int8 codes live, and the two dot products the graph walk is made of. With
 * WebAssembly SIMD (browsers, Node, Deno) the codes live in a small wasm module's memory and a
 * product takes 16 codes a step (dot-simd.wat); where wasm cannot be compiled at run time
 * (Cloudflare Workers) or the width is not a multiple of 16, a plain Int8Array and JavaScript
 * loops give the same results, bit for bit.
 *
 * The query is held as int16 steps (`queryStep`): a product is then a sum of integers, exact in
 * int32 and the same on every platform, and SIMD takes it with one multiply-add per 8 codes
 * instead of widening every code to a float (2.5× fewer instructions). A step is at most
 * max|q| / 32767, so the query's rounding is ~100× finer than the codes' own (1/254 of max|v|).
 */
export interface CodeSpace {
  /** The codes, node after node (a view: read it again after grow). */
  readonly codes: Int8Array
  /** Makes room for `bytes` of codes, keeping those there. */
  grow(bytes: number): void
  /** The vector dotQuery multiplies by (held in int16 steps of queryStep(q)). */
  setQuery(q: Float32Array): void
  /** Σ query[i] × codes[at + i], the query rounded to its steps. */
  dotQuery(at: number): number
  /**
   * Where dotQueryList takes the offsets of the codes to score (a view: read it again after
   * grow); it holds LIST_CAPACITY.
   */
  readonly list: Int32Array
  /** out[i] = dotQuery(list[i]) for i < count (the list is then spent). */
  dotQueryList(count: number, out: Float64Array): void
  /** Σ codes[a + i] × codes[b + i]. */
  dotCodes(a: number, b: number): number
}

/** Offsets dotQueryList takes at once: more than any node's links. */
const LIST_CAPACITY = 8_192

/**
 * The largest int16 query value: as fine as int16 allows, and small enough that no sum of dims
 * products of it by a code (|code| ≤ 127) can leave int32, whatever the vectors.
 */
function queryUnits(dims: number): number {
  return Math.min(32_767, Math.floor(0x7fff_ffff / (127 * dims)))
}

/** The step q is held in: the value one int16 unit of the query stands for (0 for a zero query). */
export function queryStep(q: Float32Array): number {
  let max = 0
  for (let i = 0; i < q.length; i++) max = Math.max(max, Math.abs(q[i]!))
  return max / queryUnits(q.length)
}

/** q in int16 steps, written into `out`; returns the step. */
function quantiseQuery(q: Float32Array, out: Int16Array): number {
  const step = queryStep(q)
  if (step > 0) for (let i = 0; i < q.length; i++) out[i] = Math.round(q[i]! / step)
  else out.fill(0)
  return step
}

/** `simd: false` takes the plain loops (what a platform without wasm gets; tests compare the two). */
export function codeSpace(dims: number, bytes: number, simd = true): CodeSpace {
  if (simd && dims % 16 === 0) {
    const simd = wasmSpace(dims, bytes)
    if (simd) return simd
  }
  return plainSpace(dims, bytes)
}

function plainSpace(dims: number, bytes: number): CodeSpace {
  let codes = new Int8Array(bytes)
  const query = new Int16Array(dims)
  const list = new Int32Array(LIST_CAPACITY)
  let step = 0
  const dotQuery = (at: number) => {
    // Integers: exact in any order, so the same sum as the SIMD one.
    let sum = 0
    for (let i = 0; i < dims; i++) sum += query[i]! * codes[at + i]!
    return sum * step
  }
  return {
    get codes() {
      return codes
    },
    grow(size) {
      if (size <= codes.length) return
      const next = new Int8Array(size)
      next.set(codes)
      codes = next
    },
    setQuery(q) {
      step = quantiseQuery(q, query)
    },
    dotQuery,
    list,
    dotQueryList(count, out) {
      for (let i = 0; i < count; i++) out[i] = dotQuery(list[i]!)
    },
    dotCodes(x, y) {
      let sum = 0
      for (let i = 0; i < dims; i++) sum += codes[x + i]! * codes[y + i]!
      return sum
    },
  }
}

/** The query's place in wasm memory, then dotQueryList's; codes start after them. */
const QUERY_AT = 0
const LIST_AT = 32_768
const CODES_AT = LIST_AT + 4 * LIST_CAPACITY
const PAGE = 65_536

interface DotExports {
  memory: WebAssembly.Memory
  dotI16I8(q: number, c: number, n: number): number
  dotI8I8(a: number, b: number, n: number): number
  dotI16I8List(q: number, list: number, count: number, n: number, base: number): void
}

let compiled: WebAssembly.Module | null | undefined

function wasmSpace(dims: number, bytes: number): CodeSpace | undefined {
  if (dims * 2 > LIST_AT - QUERY_AT) return undefined
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(Uint8Array.from(atob(DOT_SIMD_WASM), (c) => c.charCodeAt(0)))
    } catch {
      // No SIMD, or no run-time compilation (Cloudflare Workers): the plain loops serve.
      compiled = null
    }
  }
  if (!compiled) return undefined
  const exports = new WebAssembly.Instance(compiled).exports as unknown as DotExports
  const { memory, dotI16I8, dotI8I8, dotI16I8List } = exports
  let size = 0
  let codes = new Int8Array(0)
  let query = new Int16Array(memory.buffer, QUERY_AT, dims)
  let list = new Int32Array(memory.buffer, LIST_AT, LIST_CAPACITY)
  let step = 0
  const grow = (want: number) => {
    const need = Math.ceil((CODES_AT + want) / PAGE) - memory.buffer.byteLength / PAGE
    if (need > 0) memory.grow(need)
    size = want
    codes = new Int8Array(memory.buffer, CODES_AT, size)
    query = new Int16Array(memory.buffer, QUERY_AT, dims)
    list = new Int32Array(memory.buffer, LIST_AT, LIST_CAPACITY)
  }
  grow(bytes)
  return {
    get codes() {
      return codes
    },
    grow(want) {
      if (want > size) grow(want)
    },
    setQuery(q) {
      step = quantiseQuery(q, query)
    },
    dotQuery: (at) => dotI16I8(QUERY_AT, CODES_AT + at, dims) * step,
    get list() {
      return list
    },
    dotQueryList(count, out) {
      dotI16I8List(QUERY_AT, LIST_AT, count, dims, CODES_AT)
      for (let i = 0; i < count; i++) out[i] = list[i]! * step
    },
    dotCodes: (a, b) => dotI8I8(CODES_AT + a, CODES_AT + b, dims),
  }
}

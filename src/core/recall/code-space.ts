import { DOT_SIMD_WASM } from './dot-simd-bytes.ts'

/**
 * Where the index's int8 codes live, and the two dot products the graph walk is made of. With
 * WebAssembly SIMD (browsers, Node, Deno) the codes live in a small wasm module's memory and a
 * product takes 16 codes a step (dot-simd.wat), ~3× the plain loop; where wasm cannot be
 * compiled at run time (Cloudflare Workers) or the width is not a multiple of 16, a plain
 * Int8Array and JavaScript loops give the same results.
 */
export interface CodeSpace {
  /** The codes, node after node (a view: read it again after grow). */
  readonly codes: Int8Array
  /** Makes room for `bytes` of codes, keeping those there. */
  grow(bytes: number): void
  /** The float vector dotQuery multiplies by. */
  setQuery(q: Float32Array): void
  /** Σ query[i] × codes[at + i]. */
  dotQuery(at: number): number
  /** Σ codes[a + i] × codes[b + i]. */
  dotCodes(a: number, b: number): number
}

export function codeSpace(dims: number, bytes: number): CodeSpace {
  if (dims % 16 === 0) {
    const simd = wasmSpace(dims, bytes)
    if (simd) return simd
  }
  return plainSpace(dims, bytes)
}

function plainSpace(dims: number, bytes: number): CodeSpace {
  let codes = new Int8Array(bytes)
  let query: Float32Array = new Float32Array(dims)
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
      query = q
    },
    dotQuery(at) {
      let a = 0
      let b = 0
      let i = 0
      for (; i + 1 < dims; i += 2) {
        a += query[i]! * codes[at + i]!
        b += query[i + 1]! * codes[at + i + 1]!
      }
      for (; i < dims; i++) a += query[i]! * codes[at + i]!
      return a + b
    },
    dotCodes(x, y) {
      let sum = 0
      for (let i = 0; i < dims; i++) sum += codes[x + i]! * codes[y + i]!
      return sum
    },
  }
}

/** The query's place in wasm memory; codes start after it. */
const QUERY_AT = 0
const CODES_AT = 65_536
const PAGE = 65_536

interface DotExports {
  memory: WebAssembly.Memory
  dotF32I8(q: number, c: number, n: number): number
  dotI8I8(a: number, b: number, n: number): number
}

let compiled: WebAssembly.Module | null | undefined

function wasmSpace(dims: number, bytes: number): CodeSpace | undefined {
  if (dims * 4 > CODES_AT - QUERY_AT) return undefined
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
  const { memory, dotF32I8, dotI8I8 } = exports
  let size = 0
  let codes = new Int8Array(0)
  let query = new Float32Array(memory.buffer, QUERY_AT, dims)
  const grow = (want: number) => {
    const need = Math.ceil((CODES_AT + want) / PAGE) - memory.buffer.byteLength / PAGE
    if (need > 0) memory.grow(need)
    size = want
    codes = new Int8Array(memory.buffer, CODES_AT, size)
    query = new Float32Array(memory.buffer, QUERY_AT, dims)
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
      query.set(q)
    },
    dotQuery: (at) => dotF32I8(QUERY_AT, CODES_AT + at, dims),
    dotCodes: (a, b) => dotI8I8(CODES_AT + a, CODES_AT + b, dims),
  }
}

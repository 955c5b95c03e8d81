import { describe, expect, it } from 'vitest'
import { TINY_MODEL, expectedVector } from '../fixtures/tiny-model-spec.ts'

interface Answer {
  id?: string
  dims?: number
  vectors?: number[][]
  progress?: Array<{ file: string; loaded: number; total: number }>
  requests?: string[]
  error?: string
}

function embedInWorker(texts: string[]): Promise<{ answer: Answer; requests: string[] }> {
  const worker = new Worker(new URL('./embedder.worker.ts', import.meta.url), { type: 'module' })
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<Answer>) => {
      worker.terminate()
      resolve({ answer: event.data, requests: event.data.requests ?? [] })
    }
    worker.onerror = (event) => reject(new Error(event.message))
    worker.postMessage({ texts, model: TINY_MODEL })
  })
}

describe('createEmbedder in a Chromium worker (transformers.js + onnxruntime-web, the tiny test model)', () => {
  it('embeds in the worker with everything served by this origin, reporting download progress', async () => {
    const { answer } = await embedInWorker(['The user is vegetarian', 'hello world'])
    expect(answer.error).toBeUndefined()
    expect(answer.id).toBe(`${TINY_MODEL}@q8:mean`)
    expect(answer.dims).toBe(384)
    expect(answer.vectors).toHaveLength(2)
    for (const v of answer.vectors!) expect(Math.hypot(...v)).toBeCloseTo(1, 4)
    expect(answer.progress!.some((p) => p.file.endsWith('model_quantized.onnx') && p.loaded === p.total && p.total > 0)).toBe(true)
  })

  it("computes what the model says (the mean of the text's token rows, normalised), as Node does", async () => {
    const { answer, requests } = await embedInWorker(['hello', 'book a table for two'])
    expect(answer.error).toBeUndefined()
    for (const [i, text] of ['hello', 'book a table for two'].entries()) {
      const want = expectedVector(text)
      const got = answer.vectors![i]!
      for (let d = 0; d < 384; d++) expect(got[d]).toBeCloseTo(want[d]!, 4)
    }
    // The worker fetched the model and the runtime, and nothing left this origin (no hub, no CDN).
    expect(requests.some((url) => url.includes('model_quantized.onnx'))).toBe(true)
    expect(requests).toContainEqual(expect.stringContaining('ort-wasm-simd-threaded'))
    expect(requests.filter((url) => new URL(url).origin !== location.origin)).toEqual([])
  })
})

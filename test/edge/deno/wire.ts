/**
 * JSON with bytes, between the Node tests and the Deno host: a Uint8Array travels as
 * { $bytes: base64 }. Both sides import this file (Deno runs it as TypeScript).
 */
export function toWire(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => (v instanceof Uint8Array ? { $bytes: base64(v) } : v))
}

export function fromWire(text: string): unknown {
  return JSON.parse(text, (_, v: unknown) =>
    typeof v === 'object' && v !== null && typeof (v as { $bytes?: unknown }).$bytes === 'string' ? unbase64((v as { $bytes: string }).$bytes) : v,
  )
}

function base64(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(s)
}

function unbase64(text: string): Uint8Array {
  const s = atob(text)
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
  return out
}

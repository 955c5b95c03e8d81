/**
 * A chat-like corpus any fresh clone can rebuild: text cut from the English README and
 * markdown files of the installed node_modules (fixed by the lockfile), shaped as chat
 * records { id, conv, role, ts, text } of 200 B – 4 KiB. Deterministic: same lockfile, same corpus.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

export interface ChatRecord {
  id: string
  conv: string
  role: 'user' | 'assistant'
  ts: number
  text: string
}

function markdownFiles(dir: string, out: string[] = [], depth = 0): string[] {
  if (depth > 4) return out
  let names: string[]
  try {
    names = readdirSync(dir).sort()
  } catch {
    return out
  }
  for (const name of names) {
    const path = join(dir, name)
    if (name.toLowerCase().endsWith('.md')) out.push(path)
    else if (!name.startsWith('.') && name !== 'test' && statSync(path).isDirectory()) markdownFiles(path, out, depth + 1)
  }
  return out
}

/** Plain prose: drop code blocks, tables, badges, HTML and link targets. */
function prose(markdown: string): string[] {
  return markdown
    .replace(/```[\s\S]*?```/g, ' ')
    .split(/\n\s*\n/)
    .map((p) =>
      p
        .replace(/<[^>]+>/g, ' ')
        .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
        .replace(/[#>*_`|]/g, ' ')
        .replace(/\s+/g, ' ')
        .trim(),
    )
    .filter((p) => p.length >= 80 && /^[\x20-\x7e]+$/.test(p) && (p.match(/ the | and | to | of /g)?.length ?? 0) >= 2)
}

export function buildCorpus(count: number, root = 'node_modules'): ChatRecord[] {
  const paragraphs = markdownFiles(root).flatMap((file) => prose(readFileSync(file, 'utf8')))
  if (paragraphs.length < 100) throw new Error(`only ${paragraphs.length} paragraphs of prose under ${root}; run npm install first`)
  const records: ChatRecord[] = []
  let p = 0
  for (let i = 0; records.length < count; i++) {
    // Record sizes cycle through 200 B – 4 KiB, text joined from consecutive paragraphs.
    const target = 200 + ((i * 977) % 3900)
    let text = ''
    while (text.length < target) text += (text ? ' ' : '') + paragraphs[p++ % paragraphs.length]
    records.push({
      id: `m${i}`,
      conv: `c${Math.floor(i / 20)}`,
      role: i % 2 ? 'assistant' : 'user',
      ts: 1_700_000_000_000 + i * 37_000,
      text: text.slice(0, target),
    })
  }
  return records
}

/** Records of exactly `bytes` of text each (the fixed-size rows of the write benchmarks). */
export function fixedRecords(count: number, bytes: number, corpus: ChatRecord[]): ChatRecord[] {
  const all = corpus.map((r) => r.text).join(' ')
  return Array.from({ length: count }, (_, i) => {
    const start = (i * 1931) % Math.max(1, all.length - bytes)
    return { id: `f${i}`, conv: `c${i % 97}`, role: i % 2 ? 'assistant' : 'user', ts: 1_700_000_000_000 + i, text: all.slice(start, start + bytes) }
  })
}

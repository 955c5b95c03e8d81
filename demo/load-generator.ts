import type { Memory } from 'tiermem'

/** Sentences an assistant might hear; messages are built from them at sizes from ~200 B to ~4 KiB. */
const SENTENCES = [
  'Can you book a table for two near the station on Friday evening?',
  'The user prefers vegetarian restaurants and quiet places.',
  'Remind me to send the quarterly report to Dana before noon.',
  'We talked about the trip to Lisbon and the hotel by the river.',
  'The flight lands at 18:40, so dinner should be after eight.',
  'Summarise the meeting notes and list the open questions.',
  'The budget for the project was raised to forty thousand.',
  'Keep the draft of the letter; the user wants to revise it tomorrow.',
  'The customer asked for a refund because the parcel arrived late.',
  'Plan a three-day itinerary with museums in the mornings.',
]

export function message(i: number): { role: string; text: string; at: number } {
  const target = 200 + ((i * 977) % 3900)
  let text = ''
  for (let j = i; text.length < target; j += 7) text += SENTENCES[j % SENTENCES.length] + ' '
  return { role: i % 2 ? 'assistant' : 'user', text: text.slice(0, target), at: Date.now() }
}

/** A Zipf-like pick: a few keys are read very often, most rarely. */
function zipf(n: number, random: () => number): number {
  return Math.min(n - 1, Math.floor(Math.pow(n + 1, random()) - 1))
}

/**
 * Writes `count` messages in batches, then reads them with a Zipf-like skew (hot keys reach
 * the promotion threshold, the long tail goes idle). Reports progress from 0 to 1.
 */
export async function generateLoad(mem: Memory, count: number, onProgress: (done: number) => void): Promise<void> {
  const start = Date.now()
  const batch = 50
  for (let i = 0; i < count; i += batch) {
    const items = Array.from({ length: Math.min(batch, count - i) }, (_, j) => ({
      key: `load:${start}:${i + j}`,
      value: message(i + j),
      type: 'message',
      importance: (((i + j) * 37) % 100) / 100,
      tags: ['load', (i + j) % 2 ? 'assistant' : 'user'],
    }))
    await mem.putMany(items)
    onProgress(((i + items.length) / count) * 0.7)
  }
  let seed = 7
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647
  const reads = count * 2
  for (let r = 0; r < reads; r += 100) {
    await mem.getMany(Array.from({ length: 100 }, () => `load:${start}:${zipf(count, random)}`))
    onProgress(0.7 + ((r + 100) / reads) * 0.3)
  }
}

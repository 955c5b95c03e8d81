import { describe, expect, it } from 'vitest'
import type { RecordFile } from '../../src/core/store/record-file.ts'

export interface RecordFileFactory {
  /** Opens a record file; the same (scope, name, width) opens the same records again. */
  open(scope: string, name: string, recordBytes: number): Promise<RecordFile>
}

const record = (width: number, seed: number) => new Uint8Array(width).map((_, i) => (seed * 31 + i) & 255)

/** The record file contract: every RecordFiles implementation (memory, OPFS) passes it. */
export function defineRecordFileContract(name: string, factory: RecordFileFactory): void {
  let n = 0
  const scope = () => `records-${Date.now()}-${n++}`

  describe(`record file contract: ${name}`, () => {
    it('reads back what it wrote, byte for byte, and undefined past the end', async () => {
      const file = await factory.open(scope(), 'vectors', 24)
      expect(file.recordBytes).toBe(24)
      await file.write([
        { index: 0, bytes: record(24, 1) },
        { index: 3, bytes: record(24, 4) },
      ])
      const [zero, three, past] = await file.read([0, 3, 9])
      expect(zero).toEqual(record(24, 1))
      expect(three).toEqual(record(24, 4))
      expect(past).toBeUndefined()
      await file.close()
    })

    it('writes a batch in any order, with runs and gaps and a record given twice (the last one wins)', async () => {
      const file = await factory.open(scope(), 'vectors', 16)
      const order = [7, 2, 3, 4, 11, 5, 0, 12, 13]
      await file.write([...order.map((index) => ({ index, bytes: record(16, index) })), { index: 4, bytes: record(16, 40) }])
      const got = await file.read([0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13])
      const want = (index: number) => (index === 4 ? record(16, 40) : order.includes(index) ? record(16, index) : undefined)
      got.forEach((bytes, i) => {
        const index = [0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13][i]!
        // A gap inside the file reads as zeros or undefined, never as another record's bytes.
        if (want(index)) expect(bytes).toEqual(want(index))
        else expect(bytes === undefined || bytes.every((b) => b === 0)).toBe(true)
      })
      await file.close()
    })

    it('overwrites a record in place, and hands out copies', async () => {
      const file = await factory.open(scope(), 'vectors', 8)
      await file.write([{ index: 1, bytes: record(8, 1) }])
      await file.write([{ index: 1, bytes: record(8, 2) }])
      const [got] = await file.read([1])
      expect(got).toEqual(record(8, 2))
      got![0] = 99
      expect((await file.read([1]))[0]).toEqual(record(8, 2))
      await file.close()
    })

    it('reads into a buffer the caller keeps, record i at i × width, and refuses one too small', async () => {
      const file = await factory.open(scope(), 'vectors', 8)
      await file.write([
        { index: 2, bytes: record(8, 3) },
        { index: 5, bytes: record(8, 6) },
      ])
      const into = new Uint8Array(32).fill(7)
      const [five, past, two] = await file.read([5, 40, 2], into)
      expect(five).toEqual(record(8, 6))
      expect(two).toEqual(record(8, 3))
      expect(past).toBeUndefined()
      // Views of the caller's buffer, where the contract puts them.
      expect(five!.buffer).toBe(into.buffer)
      expect(into.subarray(0, 8)).toEqual(record(8, 6))
      expect(into.subarray(16, 24)).toEqual(record(8, 3))
      await expect(file.read([2, 5], new Uint8Array(15))).rejects.toMatchObject({ code: 'INVALID_VALUE' })
      // Without a buffer, each call's records are its own.
      const [first] = await file.read([2])
      const [second] = await file.read([2])
      expect(first!.buffer).not.toBe(second!.buffer)
      await file.close()
    })

    it('refuses a record of the wrong width or number and writes none of the batch', async () => {
      const file = await factory.open(scope(), 'vectors', 8)
      await expect(
        file.write([
          { index: 0, bytes: record(8, 1) },
          { index: 1, bytes: record(7, 1) },
        ]),
      ).rejects.toMatchObject({ code: 'INVALID_VALUE' })
      await expect(file.write([{ index: -1, bytes: record(8, 1) }])).rejects.toMatchObject({ code: 'INVALID_VALUE' })
      expect(await file.read([0])).toEqual([undefined])
      await file.close()
    })

    it('truncate keeps the first records and drops the rest, and a record written after reads back', async () => {
      const file = await factory.open(scope(), 'spool', 8)
      await file.write([0, 1, 2, 3].map((index) => ({ index, bytes: record(8, index + 1) })))
      await file.truncate(2)
      expect(await file.read([0, 1, 2, 3])).toEqual([record(8, 1), record(8, 2), undefined, undefined])
      await file.truncate(0)
      expect(await file.read([0])).toEqual([undefined])
      await file.write([{ index: 1, bytes: record(8, 9) }])
      expect((await file.read([1]))[0]).toEqual(record(8, 9))
      await expect(file.truncate(-1)).rejects.toMatchObject({ code: 'INVALID_VALUE' })
      await file.close()
    })

    it('keeps its records across a close and reopen, per name and width', async () => {
      const at = scope()
      const file = await factory.open(at, 'vectors', 16)
      await file.write([{ index: 2, bytes: record(16, 7) }])
      await file.close()
      await expect(file.read([2])).rejects.toMatchObject({ code: 'CLOSED' })
      const again = await factory.open(at, 'vectors', 16)
      expect((await again.read([2]))[0]).toEqual(record(16, 7))
      await again.close()
      const other = await factory.open(at, 'vectors', 32)
      expect(await other.read([2])).toEqual([undefined])
      await other.close()
    })
  })
}

import type { FileSums } from '../store/deflater.ts'
import { crc32 } from './crc32.ts'
import { sha256Hex } from './sha256-hex.ts'

/** The checks a backup keeps of one record file, wherever the file is deflated (a `Deflater` gives them back). */
export async function fileSums(bytes: Uint8Array): Promise<FileSums> {
  return { crc32: crc32(bytes), sha256: await sha256Hex(bytes) }
}

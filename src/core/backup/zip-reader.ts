import type { Inflated, Inflater } from '../store/inflater.ts'
import { invalid, MAX_RECORD_FILE_BYTES } from './backup-format.ts'
import type { ByteSource } from './byte-source.ts'
import { inflateHere } from './inflate-checked.ts'
import { sha256Hex } from './sha256-hex.ts'

/**
 * Reads a zip by its central directory, one member at a time. Why not fflate's streaming Unzip:
 * a zip written as a stream (fflate's Zip does so) has no sizes in its local headers, and a
 * streaming reader must then guess where a member ends by searching for a signature in the data,
 * which its maintainer advises against (fflate#208, #243). Restoring reads its sources twice
 * anyway (verify, then apply), so it can seek: the directory at the end names every member's
 * offset and sizes exactly. Zip64 (a backup over 4 GiB) is refused with a clear message.
 */
export interface ZipMember {
  name: string
  method: number
  compressedSize: number
  size: number
  localOffset: number
}

const EOCD = 0x06054b50
const CENTRAL = 0x02014b50
const LOCAL = 0x04034b50
const EOCD_BYTES = 22
const MAX_COMMENT = 0xffff

export async function readZipDirectory(source: ByteSource): Promise<ZipMember[]> {
  if (source.size < EOCD_BYTES) throw invalid('the backup is truncated (too short to be a zip)')
  const tailLength = Math.min(source.size, EOCD_BYTES + MAX_COMMENT)
  const tail = await source.read(source.size - tailLength, tailLength)
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength)
  let at = -1
  for (let i = tail.byteLength - EOCD_BYTES; i >= 0; i--) {
    if (view.getUint32(i, true) === EOCD && i + EOCD_BYTES + view.getUint16(i + 20, true) === tail.byteLength) {
      at = i
      break
    }
  }
  if (at < 0) throw invalid('the backup is truncated or not a zip (no end of central directory)')
  const count = view.getUint16(at + 10, true)
  const dirSize = view.getUint32(at + 12, true)
  const dirOffset = view.getUint32(at + 16, true)
  if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff)
    throw invalid('the backup is a zip64 archive (over 4 GiB), which this version does not read')
  if (dirOffset + dirSize > source.size - tailLength + at) throw invalid('the backup is truncated (its central directory points past its end)')
  const dir = await source.read(dirOffset, dirSize)
  const d = new DataView(dir.buffer, dir.byteOffset, dir.byteLength)
  const members: ZipMember[] = []
  const decoder = new TextDecoder('utf-8', { fatal: true })
  let p = 0
  for (let i = 0; i < count; i++) {
    if (p + 46 > dir.byteLength || d.getUint32(p, true) !== CENTRAL) throw invalid('the backup has a damaged central directory')
    const nameLength = d.getUint16(p + 28, true)
    const extraLength = d.getUint16(p + 30, true)
    const commentLength = d.getUint16(p + 32, true)
    if (p + 46 + nameLength > dir.byteLength) throw invalid('the backup has a damaged central directory')
    let name: string
    try {
      name = decoder.decode(dir.subarray(p + 46, p + 46 + nameLength))
    } catch {
      throw invalid('the backup has a member whose name is not UTF-8')
    }
    const member = {
      name,
      method: d.getUint16(p + 10, true),
      compressedSize: d.getUint32(p + 20, true),
      size: d.getUint32(p + 24, true),
      localOffset: d.getUint32(p + 42, true),
    }
    if (member.compressedSize === 0xffffffff || member.size === 0xffffffff || member.localOffset === 0xffffffff) {
      throw invalid('the backup is a zip64 archive (over 4 GiB), which this version does not read')
    }
    members.push(member)
    p += 46 + nameLength + extraLength + commentLength
  }
  return members
}

/** A member's bytes, inflated; never more than `limit` bytes (the directory's size is checked before anything inflates). */
export async function readZipMember(source: ByteSource, member: ZipMember, limit = MAX_RECORD_FILE_BYTES): Promise<Uint8Array> {
  return (await readCheckedMember(source, member, inflateHere, limit)).bytes
}

/**
 * A member's bytes and their SHA-256, inflated and hashed by `inflate` (off the engine's thread
 * where the platform lends one); never more than `limit` bytes.
 */
export async function readCheckedMember(source: ByteSource, member: ZipMember, inflate: Inflater, limit = MAX_RECORD_FILE_BYTES): Promise<Inflated> {
  if (member.size > limit) throw invalid(`'${member.name}' is over the size limit (${member.size} bytes)`)
  if (member.method !== 0 && member.method !== 8) throw invalid(`'${member.name}' uses compression method ${member.method}; backups use deflate or none`)
  if (member.localOffset + 30 > source.size) throw invalid(`the backup is truncated (no header for '${member.name}')`)
  const header = await source.read(member.localOffset, 30)
  const h = new DataView(header.buffer, header.byteOffset, header.byteLength)
  if (h.getUint32(0, true) !== LOCAL) throw invalid(`the backup has a damaged header for '${member.name}'`)
  const dataOffset = member.localOffset + 30 + h.getUint16(26, true) + h.getUint16(28, true)
  if (dataOffset + member.compressedSize > source.size) throw invalid(`the backup is truncated (inside '${member.name}')`)
  const data = await source.read(dataOffset, member.compressedSize)
  if (member.method === 0) {
    if (member.compressedSize !== member.size) throw invalid(`'${member.name}' has inconsistent sizes`)
    return { bytes: data, sha256: await sha256Hex(data) }
  }
  const [inflated] = await inflate([{ data, size: member.size }])
  if (!inflated) throw invalid(`'${member.name}' does not inflate to the size its directory names (damaged or truncated)`)
  return inflated
}

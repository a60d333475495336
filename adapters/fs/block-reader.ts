/**
 * Forward reads over a file through one fixed-size block, so scanning a
 * segment of any size holds at most one block in memory.
 *
 * @module
 */
import type { FsFileHandle as FileHandle } from './file-system.js'
import { crc32c } from './crc32c.js'
import { readFully } from './fs-util.js'

/** Bytes read at a time while scanning. */
export const BLOCK_BYTES = 1 << 20

/** Reads `size` bytes of a file through a block buffer; see the module documentation. */
export class BlockReader {
  private readonly block: Uint8Array
  private start = 0
  private end = 0

  /**
   * @param handle - the open file
   * @param size - the file's size; nothing at or past it is read
   */
  constructor (private readonly handle: FileHandle, readonly size: number, blockBytes = BLOCK_BYTES) {
    this.block = new Uint8Array(Math.max(1, Math.min(blockBytes, size)))
  }

  /**
   * A view of the `n` bytes at `pos` (`n` at most one block, `pos + n` at
   * most `size`), valid until the next call.
   */
  async bytes (pos: number, n: number): Promise<Uint8Array> {
    if (pos < this.start || pos + n > this.end) await this.fill(pos, n)
    return this.block.subarray(pos - this.start, pos - this.start + n)
  }

  /** The little-endian u32 at `pos` (`pos + 4` at most `size`). */
  async uint32 (pos: number): Promise<number> {
    const b = await this.bytes(pos, 4)
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0
  }

  /** crc32c over the `n` bytes at `pos`, continuing from `crc`, read block by block. */
  async crc32c (pos: number, n: number, crc: number): Promise<number> {
    let c = crc
    for (let at = pos, left = n; left > 0;) {
      const step = Math.min(left, this.block.length)
      c = crc32c(await this.bytes(at, step), c)
      at += step
      left -= step
    }
    return c
  }

  private async fill (pos: number, n: number): Promise<void> {
    const want = Math.min(this.block.length, this.size - pos)
    const got = await readFully(this.handle, this.block.subarray(0, want), pos)
    this.start = pos
    this.end = pos + got
    if (got < n) throw new Error(`the file ended at ${pos + got} while ${this.size} bytes were expected`)
  }
}

/**
 * Small helpers over `node:fs/promises`: complete reads and writes,
 * directory fsync, and the typed errors the write-ahead log throws.
 *
 * @module
 */
import type { FsFileHandle as FileHandle, FileSystem } from './file-system.js'
import { DecodeError, StorageError } from 'aegis-replication'

const describe = (cause: unknown): string => cause instanceof Error ? cause.message : String(cause)

/** A `StorageError` for a failed file-system call; the native error is the `cause`. */
export const ioError = (action: string, path: string, cause: unknown): StorageError =>
  new StorageError(`write-ahead log: ${action} ${path}: ${describe(cause)}`, { cause })

/** A `StorageError` for bad bytes in `path` at `offset`; a `DecodeError` is the `cause`. */
export const corruptionError = (path: string, offset: number, reason: string): StorageError =>
  new StorageError(`write-ahead log: corrupt ${path} at offset ${offset}: ${reason}`, { cause: new DecodeError(reason) })

/**
 * Runs `fn`, turning anything it throws that is not already a `StorageError`
 * into one that names `action` and `path`.
 */
export const io = async <T>(action: string, path: string, fn: () => Promise<T>): Promise<T> => {
  try {
    return await fn()
  } catch (err) {
    throw err instanceof StorageError ? err : ioError(action, path, err)
  }
}

/** Reads into all of `target` from `position`; returns how many bytes there were (fewer at end of file). */
export const readFully = async (handle: FileHandle, target: Uint8Array, position: number): Promise<number> => {
  let done = 0
  while (done < target.length) {
    const { bytesRead } = await handle.read(target, done, target.length - done, position + done)
    if (bytesRead === 0) break
    done += bytesRead
  }
  return done
}

/** Writes every byte of `buffers`, in order, at `position` (writev, resumed after short writes). */
export const writeFully = async (handle: FileHandle, buffers: Uint8Array[], position: number): Promise<void> => {
  let rest = buffers.filter((b) => b.length > 0)
  let at = position
  while (rest.length > 0) {
    const { bytesWritten } = await handle.writev(rest, at)
    at += bytesWritten
    let skip = bytesWritten
    while (rest.length > 0 && skip >= rest[0].length) skip -= rest.shift()?.length ?? 0
    if (skip > 0) rest[0] = rest[0].subarray(skip)
  }
}

/**
 * Makes the creation, rename or removal of files in `dir` durable. Windows
 * cannot open a directory for fsync; there it is a no-op.
 */
export const fsyncDir = async (dir: string, fs: FileSystem): Promise<void> => {
  if (process.platform === 'win32') return
  const handle = await fs.open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

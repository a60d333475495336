/**
 * The handful of `node:fs/promises` calls the write-ahead log makes, as an
 * interface, so that a test can run the log (and `FileRaftStorage`) on a
 * simulated disk that loses unsynced writes on a power loss. The default is
 * `node:fs/promises` itself: nothing is wrapped on the real path.
 *
 * @module
 */
import * as nodeFs from 'node:fs/promises'

/** An open file: the methods of Node's `FileHandle` the log uses. */
export interface FsFileHandle {
  read (buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>
  writev (buffers: Uint8Array[], position: number): Promise<{ bytesWritten: number }>
  /** Makes the file's data and metadata durable (for a directory: its entries). */
  sync (): Promise<void>
  /** Makes the file's data durable. */
  datasync (): Promise<void>
  truncate (length: number): Promise<void>
  stat (): Promise<{ size: number }>
  close (): Promise<void>
}

/**
 * The file-system calls of the write-ahead log (a subset of
 * `node:fs/promises`). Errors carry Node's `code` (`'ENOENT'`, `'EEXIST'`).
 * Creating, renaming and removing a file are durable once the directory is
 * opened with `'r'` and synced.
 */
export interface FileSystem {
  /** Flags used: `'r'`, `'r+'`, `'w'`, `'wx+'`. */
  open (path: string, flags: string): Promise<FsFileHandle>
  readdir (path: string): Promise<string[]>
  mkdir (path: string, options: { recursive: true }): Promise<string | undefined>
  rm (path: string, options?: { force?: boolean }): Promise<void>
  rename (from: string, to: string): Promise<void>
  stat (path: string): Promise<{ size: number }>
}

/** `node:fs/promises`, the default {@link FileSystem}. */
export const nodeFileSystem: FileSystem = nodeFs

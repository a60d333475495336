/**
 * A simulated disk for crash tests: the {@link FileSystem} of
 * `aegis-replication/fs` in memory, with a page cache that a power loss
 * empties.
 *
 * Model (the strict one, as POSIX promises and as ext4/xfs behave without
 * `data=journal`):
 * - each file has durable bytes and pending writes (`writev`, `truncate`,
 *   the truncation of `open(…, 'w')`) made since its last `sync`/`datasync`;
 *   a sync makes the file's current bytes durable;
 * - each directory has durable entries and pending entry changes (create,
 *   rename within the directory, remove, `mkdir`) made since its last sync
 *   (`open(dir, 'r')` then `sync()`); syncing a file does not make its name
 *   durable, and syncing a directory does not make its own name in its
 *   parent durable;
 * - {@link SimDisk.crash} is a power loss: every file and directory keeps its
 *   durable state plus a seeded random prefix of its pending changes, the
 *   last one kept possibly torn (a prefix of its bytes); files no durable
 *   name reaches are gone. The process is gone too: calls in flight on the
 *   old {@link SimDisk.mount} never settle, later ones neither.
 *
 * Every call settles as a microtask, except `sync`/`datasync`, which take
 * `syncDelay()` ms of virtual time on `clock` when both are given: all of it
 * deterministic. `onSync` runs when a sync starts (before anything becomes
 * durable): a test can power the disk off right there.
 *
 * @module
 */
import type { Clock } from 'aegis-replication'
import type { FileSystem, FsFileHandle } from 'aegis-replication/fs'
import type { Prng } from 'aegis-replication/testing'

type FileOp = { type: 'write', pos: number, bytes: Uint8Array } | { type: 'truncate', size: number }
type DirOp = { type: 'link', name: string, node: SimNode } | { type: 'unlink', name: string } | { type: 'rename', from: string, to: string }

class SimFile {
  readonly kind = 'file'
  buf = new Uint8Array(64)
  size = 0
  /** `durableBuf` may be `buf` itself (shared) until a write below `durableSize`. */
  durableBuf = new Uint8Array(0)
  durableSize = 0
  pending: FileOp[] = []

  write (pos: number, bytes: Uint8Array, log = true): void {
    const end = pos + bytes.length
    if (end > this.buf.length || (this.durableBuf === this.buf && pos < this.durableSize)) {
      const next = new Uint8Array(Math.max(end, this.buf.length * (end > this.buf.length ? 2 : 1)))
      next.set(this.buf.subarray(0, this.size))
      this.buf = next
    }
    if (pos > this.size) this.buf.fill(0, this.size, pos)
    this.buf.set(bytes, pos)
    this.size = Math.max(this.size, end)
    if (log) this.pending.push({ type: 'write', pos, bytes: bytes.slice() })
  }

  truncate (size: number, log = true): void {
    if (size > this.size) this.write(this.size, new Uint8Array(size - this.size), false)
    else if (this.durableBuf === this.buf && size < this.durableSize) { this.buf = this.buf.slice(0, Math.max(64, this.buf.length)); }
    this.size = size
    if (log) this.pending.push({ type: 'truncate', size })
  }

  sync (): void {
    this.durableBuf = this.buf
    this.durableSize = this.size
    this.pending = []
  }

  /** The file after a power loss: durable bytes plus `keep` pending ops, the last one torn to `tornBytes` if given. */
  afterCrash (keep: number, tornBytes: number | undefined): SimFile {
    const f = new SimFile()
    f.write(0, this.durableBuf.subarray(0, this.durableSize), false)
    for (let i = 0; i < keep; i++) {
      const op = this.pending[i]
      if (op.type === 'truncate') f.truncate(op.size, false)
      else f.write(op.pos, i === keep - 1 && tornBytes !== undefined ? op.bytes.subarray(0, tornBytes) : op.bytes, false)
    }
    f.sync()
    return f
  }
}

class SimDir {
  readonly kind = 'dir'
  entries = new Map<string, SimNode>()
  durable = new Map<string, SimNode>()
  pending: DirOp[] = []

  apply (op: DirOp, to: Map<string, SimNode>): void {
    if (op.type === 'link') to.set(op.name, op.node)
    else if (op.type === 'unlink') to.delete(op.name)
    else { const n = to.get(op.from); to.delete(op.from); if (n !== undefined) to.set(op.to, n) }
  }

  change (op: DirOp): void {
    this.apply(op, this.entries)
    this.pending.push(op)
  }

  sync (): void {
    this.durable = new Map(this.entries)
    this.pending = []
  }
}

type SimNode = SimFile | SimDir

const fsError = (code: string, call: string, path: string): Error =>
  Object.assign(new Error(`${code}: ${call} '${path}'`), { code, syscall: call, path })

const split = (path: string): string[] => {
  if (!path.startsWith('/')) throw new Error(`sim-disk: paths must be absolute, got ${path}`)
  return path.split('/').filter((p) => p !== '' && p !== '.')
}

/** Options of {@link SimDisk}. */
export interface SimDiskOptions {
  /** Virtual clock for `syncDelay`. @default none: syncs settle as microtasks */
  clock?: Clock
  /** Virtual ms a sync takes. @default () => 0 */
  syncDelay?: () => number
  /** Called when a sync starts on a live mount; may crash the disk. @default none */
  onSync?: (path: string) => void
}

/** Counters of what a disk did. */
export interface SimDiskStats { syncs: number, crashes: number, pendingLost: number, torn: number }

/** See the module documentation. */
export class SimDisk {
  private root = new SimDir()
  private generation = 0
  readonly stats: SimDiskStats = { syncs: 0, crashes: 0, pendingLost: 0, torn: 0 }

  constructor (readonly options: SimDiskOptions = {}) {
    this.root.sync()
  }

  /**
   * Power loss: keeps the durable state and a random prefix of the pending
   * changes of each file and directory (with `torn`, the last kept write
   * may be cut short). The current mount dies.
   */
  crash (prng: Prng, torn = true): void {
    this.generation++
    this.stats.crashes++
    const rebuild = (dir: SimDir): SimDir => {
      const d = new SimDir()
      const keep = dir.pending.length === 0 ? 0 : prng.int(0, dir.pending.length)
      this.stats.pendingLost += dir.pending.length - keep
      const entries = new Map(dir.durable)
      for (let i = 0; i < keep; i++) dir.apply(dir.pending[i], entries)
      for (const [name, node] of entries) d.entries.set(name, node.kind === 'dir' ? rebuild(node) : this.fileAfterCrash(node, prng, torn))
      d.sync()
      return d
    }
    this.root = rebuild(this.root)
  }

  private fileAfterCrash (f: SimFile, prng: Prng, torn: boolean): SimFile {
    if (f.pending.length === 0) return f.afterCrash(0, undefined)
    const keep = prng.int(0, f.pending.length)
    this.stats.pendingLost += f.pending.length - keep
    const last = keep > 0 ? f.pending[keep - 1] : undefined
    let tornBytes: number | undefined
    if (torn && last?.type === 'write' && last.bytes.length > 1 && prng.next() < 0.5) {
      tornBytes = prng.int(1, last.bytes.length - 1)
      this.stats.torn++
    }
    return f.afterCrash(keep, tornBytes)
  }

  /** A file system on this disk for one process lifetime; it dies at the next {@link crash}. */
  mount (): FileSystem {
    const generation = this.generation
    const never = new Promise<never>(() => {})
    /** Runs `f` as a microtask if the mount is alive; never settles once it is dead. */
    const op = async <T>(f: () => T): Promise<T> => {
      await undefined
      if (this.generation !== generation) return await never
      return f()
    }
    const lookup = (path: string): { parent: SimDir | undefined, name: string, node: SimNode | undefined } => {
      const parts = split(path)
      let dir: SimDir = this.root
      for (let i = 0; i < parts.length - 1; i++) {
        const next = dir.entries.get(parts[i])
        if (next === undefined) return { parent: undefined, name: parts[parts.length - 1], node: undefined }
        if (next.kind !== 'dir') throw fsError('ENOTDIR', 'open', path)
        dir = next
      }
      if (parts.length === 0) return { parent: undefined, name: '', node: this.root }
      return { parent: dir, name: parts[parts.length - 1], node: dir.entries.get(parts[parts.length - 1]) }
    }
    const sync = async (path: string, node: SimNode): Promise<void> => {
      await op(() => {})
      this.options.onSync?.(path)
      if (this.generation !== generation) return await never
      const { clock, syncDelay } = this.options
      const ms = syncDelay?.() ?? 0
      if (clock !== undefined && ms > 0) await new Promise<void>((resolve) => clock.setTimeout(resolve, ms))
      if (this.generation !== generation) return await never
      this.stats.syncs++
      node.sync()
    }
    const handleOf = (path: string, node: SimNode, writable: boolean): FsFileHandle => {
      let closed = false
      const file = (call: string): SimFile => {
        if (closed) throw fsError('EBADF', call, path)
        if (node.kind !== 'file') throw fsError('EISDIR', call, path)
        return node
      }
      return {
        read: async (buffer, offset, length, position) => await op(() => {
          const f = file('read')
          const n = Math.max(0, Math.min(length, f.size - position))
          if (n > 0) buffer.set(f.buf.subarray(position, position + n), offset)
          return { bytesRead: n }
        }),
        writev: async (buffers, position) => await op(() => {
          const f = file('write')
          if (!writable) throw fsError('EBADF', 'write', path)
          let total = 0
          for (const b of buffers) total += b.length
          const all = new Uint8Array(total)
          let at = 0
          for (const b of buffers) { all.set(b, at); at += b.length }
          f.write(position, all)
          return { bytesWritten: total }
        }),
        truncate: async (length) => await op(() => { if (!writable) throw fsError('EBADF', 'ftruncate', path); file('ftruncate').truncate(length) }),
        stat: async () => await op(() => ({ size: node.kind === 'file' ? node.size : 4096 })),
        sync: async () => { if (closed) throw fsError('EBADF', 'fsync', path); await sync(path, node) },
        datasync: async () => { if (closed) throw fsError('EBADF', 'fdatasync', path); await sync(path, node) },
        close: async () => await op(() => { closed = true })
      }
    }
    return {
      open: async (path, flags) => await op(() => {
        const { parent, name, node } = lookup(path)
        if (flags === 'r' || flags === 'r+') {
          if (node === undefined) throw fsError('ENOENT', 'open', path)
          if (node.kind === 'dir' && flags !== 'r') throw fsError('EISDIR', 'open', path)
          return handleOf(path, node, flags === 'r+')
        }
        if (flags !== 'w' && flags !== 'wx+' && flags !== 'wx') throw new Error(`sim-disk: open flags ${flags} not simulated`)
        if (parent === undefined) throw fsError('ENOENT', 'open', path)
        if (node !== undefined) {
          if (flags !== 'w') throw fsError('EEXIST', 'open', path)
          if (node.kind === 'dir') throw fsError('EISDIR', 'open', path)
          node.truncate(0)
          return handleOf(path, node, true)
        }
        const f = new SimFile()
        parent.change({ type: 'link', name, node: f })
        return handleOf(path, f, true)
      }),
      readdir: async (path) => await op(() => {
        const { node } = lookup(path)
        if (node === undefined) throw fsError('ENOENT', 'scandir', path)
        if (node.kind !== 'dir') throw fsError('ENOTDIR', 'scandir', path)
        return [...node.entries.keys()].sort()
      }),
      mkdir: async (path) => await op(() => {
        const parts = split(path)
        let dir = this.root
        let first: string | undefined
        for (let i = 0; i < parts.length; i++) {
          let next = dir.entries.get(parts[i])
          if (next === undefined) {
            next = new SimDir()
            next.sync()
            dir.change({ type: 'link', name: parts[i], node: next })
            first ??= '/' + parts.slice(0, i + 1).join('/')
          }
          if (next.kind !== 'dir') throw fsError('ENOTDIR', 'mkdir', path)
          dir = next
        }
        return first
      }),
      rm: async (path, options) => await op(() => {
        const { parent, name, node } = lookup(path)
        if (node === undefined || parent === undefined) { if (options?.force === true) return; throw fsError('ENOENT', 'rm', path) }
        parent.change({ type: 'unlink', name })
      }),
      rename: async (from, to) => await op(() => {
        const a = lookup(from)
        const b = lookup(to)
        if (a.node === undefined || a.parent === undefined) throw fsError('ENOENT', 'rename', from)
        if (a.parent !== b.parent) throw new Error('sim-disk: rename across directories is not simulated')
        a.parent.change({ type: 'rename', from: a.name, to: b.name })
      }),
      stat: async (path) => await op(() => {
        const { node } = lookup(path)
        if (node === undefined) throw fsError('ENOENT', 'stat', path)
        return { size: node.kind === 'file' ? node.size : 4096 }
      })
    }
  }
}

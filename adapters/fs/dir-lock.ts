/**
 * One live process per data directory: {@link DirectoryLock}.
 *
 * Protocol. The lock is the file `aegis.lock.<g>` with the highest
 * generation `g` in the directory; it names its holder (pid, host, boot id,
 * process start time, a random nonce). To acquire:
 *
 * 1. List the generations; let `g` be the highest (0 if none). If its holder
 *    is alive, fail with {@link DirectoryLockedError}. If it was released,
 *    or its holder is provably gone (same host, and another boot, or no
 *    process with that pid, or one that started at another time), go on:
 *    no timeout is involved.
 * 2. Create `aegis.lock.<g+1>` exclusively: write a temporary file, then
 *    `link` it to that name (atomic, fails if the name exists, and the file
 *    appears whole). If it exists, another taker won generation `g+1`: go
 *    back to 1, which then finds that taker alive.
 * 3. List again: if a generation above `g+1` exists, a faster taker got
 *    there first; remove ours and go back to 1. Otherwise we hold the lock;
 *    remove the older generations.
 *
 * Why generations: "rename a fresh file over the stale one, then re-read
 * it" lets a slow taker, who judged the old holder dead a moment ago,
 * rename over the lock the winner has just taken, and both re-read their
 * own file in turn. Here a takeover can only create the name one above the
 * generation it judged, so two takers of one stale lock compete for one
 * name. The highest generation is never removed (release overwrites it with
 * a "released" record), so generations only grow and a slow taker's stale
 * judgement can only produce a lower generation, which step 3 discards.
 *
 * It protects against two processes on one host. It cannot tell whether a
 * process on another host is alive, so a lock held from another host (a
 * network file system) is never taken over; nor do hosts sharing a network
 * file system see each other's locks reliably: do not rely on it there.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { link, mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { currentProcess, isGone, type ProcessIdentity } from './process-identity.js'

/** A lock held by another live process (or already by this one). */
export class DirectoryLockedError extends Error {
  static override name = 'DirectoryLockedError'
  constructor (readonly dir: string, readonly holder: (ProcessIdentity & { label?: string }) | undefined, message: string) {
    super(message)
    this.name = 'DirectoryLockedError'
  }
}

/** Options of {@link DirectoryLock.acquire}. */
export interface DirectoryLockOptions {
  /** Written into the lock file and named in the error another process gets (e.g. `'aegis-hub n1'`). @default undefined */
  label?: string
}

interface Holder extends ProcessIdentity { label?: string, nonce: string, acquiredAt: string }
type LockFile = Holder | { released: true } | 'unreadable' | 'missing'

const LOCK_NAME = /^aegis\.lock\.(\d+)$/
const lockName = (gen: number): string => `aegis.lock.${gen}`
const MAX_ATTEMPTS = 100

/** Directories locked by this process. */
const held = new Set<string>()

const generations = async (dir: string): Promise<number[]> =>
  (await readdir(dir)).map((n) => LOCK_NAME.exec(n)?.[1]).filter((g) => g !== undefined).map(Number).sort((a, b) => a - b)

const readLock = async (path: string): Promise<LockFile> => {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing'
    throw err
  }
  try {
    const v = JSON.parse(text) as Holder | { released: true }
    return typeof v === 'object' && v !== null && ('released' in v || typeof v.pid === 'number') ? v : 'unreadable'
  } catch {
    return 'unreadable' // never a live holder's: lock files appear whole (step 2)
  }
}

const removeIfThere = async (path: string): Promise<void> => {
  await unlink(path).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err })
}

/** Writes `text` to a fresh temporary file, then links it to `path`; `false` if `path` exists. */
const createWhole = async (path: string, text: string): Promise<boolean> => {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  await writeFile(temp, text, { flag: 'wx' })
  try {
    await link(temp, path)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  } finally {
    await removeIfThere(temp)
  }
}

const describeHolder = (h: Holder): string => `pid ${h.pid} on ${h.host}${h.label === undefined ? '' : ` (${h.label})`}`

/**
 * The protocol of the module documentation, as `me`, judging holders with
 * `gone`. Exported for tests, which race takers with made-up identities.
 *
 * @internal
 */
export const acquireAs = async (dir: string, me: ProcessIdentity, label: string | undefined, gone: (h: Holder) => Promise<boolean>): Promise<DirectoryLock> => {
  await mkdir(dir, { recursive: true })
  const holder: Holder = { ...me, ...(label === undefined ? {} : { label }), nonce: randomBytes(8).toString('hex'), acquiredAt: new Date().toISOString() }
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const top = (await generations(dir)).at(-1) ?? 0
    if (top > 0) {
      const path = join(dir, lockName(top))
      const found = await readLock(path)
      if (found === 'missing') continue
      if (found !== 'unreadable' && !('released' in found) && !await gone(found)) {
        throw new DirectoryLockedError(dir, found,
          `${dir} is in use by ${describeHolder(found)}; if no such process runs any more (on another host, say), remove ${path}`)
      }
    }
    const gen = top + 1
    const path = join(dir, lockName(gen))
    if (!await createWhole(path, JSON.stringify(holder) + '\n')) continue
    const after = await generations(dir)
    if ((after.at(-1) ?? 0) > gen) { // a faster taker went past us
      await removeIfThere(path)
      continue
    }
    for (const g of after) if (g < gen) await removeIfThere(join(dir, lockName(g)))
    return new DirectoryLock(dir, path)
  }
  throw new DirectoryLockedError(dir, undefined, `${dir}: gave up taking its lock after ${MAX_ATTEMPTS} attempts (other processes keep taking it)`)
}

/** A held lock on a directory; see the module documentation. */
export class DirectoryLock {
  private released: Promise<void> | undefined

  /** @internal */
  constructor (
    /** The (absolute) directory locked. */
    readonly dir: string,
    /** The lock file. */
    readonly path: string
  ) {}

  /**
   * Locks `dir` (creating it if needed) for this process; released by
   * {@link DirectoryLock.release} or when the process ends, however it ends.
   *
   * @throws {DirectoryLockedError} if another live process on this host (or
   * on another host, as far as the lock file says) holds it, or this process
   * already does; its message names the directory and the holder's pid and host.
   */
  static async acquire (dir: string, options: DirectoryLockOptions = {}): Promise<DirectoryLock> {
    const path = resolve(dir)
    const me = await currentProcess()
    if (held.has(path)) throw new DirectoryLockedError(path, me, `${path} is already locked by this process (pid ${me.pid})`)
    held.add(path)
    try {
      const lock = await acquireAs(path, me, options.label, async (h) => await isGone(h, me))
      return lock
    } catch (err) {
      held.delete(path)
      throw err
    }
  }

  /** Releases the lock (marks its file released: the highest generation is kept). Idempotent. */
  async release (): Promise<void> {
    this.released ??= (async () => {
      try {
        const temp = `${this.path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
        await writeFile(temp, JSON.stringify({ released: true }) + '\n', { flag: 'wx' })
        await rename(temp, this.path)
      } finally {
        held.delete(this.dir)
      }
    })()
    await this.released
  }
}

/**
 * Web Locks (`navigator.locks`), used two ways: a tab holds a lock of its
 * own for its lifetime so the worker learns when it goes, and tabs compete
 * for a room's lock to elect a leader (the browser hands the lock to the
 * next waiting tab when the holder closes or crashes).
 *
 * @module
 */
import { silentLogger, type Logger } from 'aegis-replication'

/** The part of the Web Locks API used here. */
export interface LockManagerLike {
  request (name: string, options: { signal?: AbortSignal }, callback: () => unknown): Promise<unknown>
}

/** `navigator.locks`, where the runtime has it (windows and workers of secure or loopback origins). */
export const globalLocks = (): LockManagerLike | undefined =>
  (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks

/**
 * Takes the lock `name` and holds it until the returned `release` is
 * called (or the tab goes away). Resolves once the lock is held.
 */
export const holdLock = async (locks: LockManagerLike, name: string): Promise<() => void> => {
  let release!: () => void
  const held = new Promise<void>(resolve => { release = resolve })
  await new Promise<void>((resolve, reject) => {
    locks.request(name, {}, () => { resolve(); return held }).catch(reject)
  })
  return release
}

/**
 * Competes for the lock `name`: `onChange(true)` once this tab holds it,
 * `onChange(false)` when it gives it up with {@link resign}. Only one
 * tab of the origin leads at a time; when the leader closes, the next
 * waiting tab is elected.
 */
export class LeaderElection {
  readonly name: string
  private _isLeader = false
  private resigned = false
  private release: (() => void) | undefined = undefined
  private readonly abort = new AbortController()
  private readonly onChange: (leader: boolean) => void
  private readonly logger: Logger

  constructor (name: string, locks: LockManagerLike, onChange: (leader: boolean) => void, logger: Logger = silentLogger) {
    this.name = name
    this.onChange = onChange
    this.logger = logger
    locks.request(name, { signal: this.abort.signal }, () => {
      if (this.resigned) return undefined
      this._isLeader = true
      const held = new Promise<void>(resolve => { this.release = resolve })
      this.notify(true)
      return held
    }).catch((err: unknown) => {
      if ((err as { name?: string } | null)?.name !== 'AbortError') logger.warn('leader election failed', { lock: name, error: String(err) })
    })
  }

  /** Whether this tab holds the lock. */
  get isLeader (): boolean { return this._isLeader }

  /** Leaves the election: gives up the lock if held (the next tab takes over), else stops waiting. */
  resign (): void {
    if (this.resigned) return
    this.resigned = true
    if (this._isLeader) {
      this._isLeader = false
      this.notify(false)
      this.release?.()
    } else {
      this.abort.abort()
    }
  }

  private notify (leader: boolean): void {
    try {
      this.onChange(leader)
    } catch (err) {
      this.logger.warn('a leader change handler threw', { lock: this.name, error: String(err) })
    }
  }
}

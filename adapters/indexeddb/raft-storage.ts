/**
 * {@link IndexedDBRaftStorage}: a Raft node's {@link RaftStorage} in the
 * browser's IndexedDB, for a browser peer that is a Raft member.
 *
 * ```ts
 * import { IndexedDBRaftStorage } from 'aegis-replication/indexeddb'
 * const storage = await IndexedDBRaftStorage.open('raft-group-1')
 * const node = new RaftNode(config, storage, transport, stateMachine)
 * await node.start() // restarts from what the database holds
 * ```
 *
 * Database `name`, version {@link RAFT_DB_VERSION}:
 * - `entries`: one entry per record, keyed by its index;
 * - `state`: the hard state under `'hardState'`, the snapshot under `'snapshot'`.
 *
 * Every call is one readwrite transaction (durability `'strict'` where the
 * browser supports it: flushed to disk before it completes), awaited until
 * it completes; a call that fails aborts its transaction, so nothing
 * half-applies. `load()` clamps `commit` to the last stored index, as the
 * file storage does.
 *
 * @module
 */
import { wrap, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb'
import { DecodeError, InvalidArgumentError, StorageError } from 'aegis-replication'
import type { Entry, HardState, RaftPersistedState, RaftStorage, Snapshot } from 'aegis-replication/raft'
import { globalIndexedDB } from './database.js'
import { storageError } from './storage-error.js'

/** Schema version of a Raft storage database. */
export const RAFT_DB_VERSION = 1

const ENTRIES = 'entries'
const STATE = 'state'
const HARD_STATE_KEY = 'hardState'
const SNAPSHOT_KEY = 'snapshot'

interface RaftSchema extends DBSchema {
  entries: { key: number, value: Entry }
  state: { key: string, value: HardState | Snapshot }
}
type RaftDB = IDBPDatabase<RaftSchema>
type Tx = IDBPTransaction<RaftSchema, Array<StoreNames<RaftSchema>>, 'readwrite'>

/** Options of {@link IndexedDBRaftStorage.open}. */
export interface IndexedDBRaftStorageOptions {
  /**
   * The IndexedDB factory to use (e.g. `fake-indexeddb` in Node).
   * @default globalThis.indexedDB
   */
  indexedDB?: IDBFactory
}

const INITIAL_HARD_STATE: HardState = { term: 0, vote: null, commit: 0 }

const checkIndex = (what: string, v: unknown, min: number): number => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new InvalidArgumentError(`${what} must be an integer >= ${min}, got ${String(v)}`)
  return v
}

const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const isStrings = (v: unknown): boolean => Array.isArray(v) && v.every(s => typeof s === 'string')

/** Checks the shape of what the database returned; throws `DecodeError` if it is not what this code stores. */
const checked = {
  entry (v: unknown, key: number): Entry {
    const e = v as Partial<Entry> | undefined
    if (!isUint(e?.term) || e.index !== key || typeof e.type !== 'string' || !(e.data instanceof Uint8Array)) {
      throw new DecodeError(`the record at ${key} is not a Raft entry`)
    }
    return e as Entry
  },
  hardState (v: unknown): HardState {
    const h = v as Partial<HardState> | undefined
    if (!isUint(h?.term) || !isUint(h.commit) || !(h.vote === null || typeof h.vote === 'string')) throw new DecodeError('the stored hard state is malformed')
    return h as HardState
  },
  snapshot (v: unknown): Snapshot {
    const s = v as Partial<Snapshot> | undefined
    if (!isUint(s?.index) || !isUint(s.term) || !(s.data instanceof Uint8Array) || !isStrings(s.conf?.voters) || !isStrings(s.conf?.learners)) {
      throw new DecodeError('the stored snapshot is malformed')
    }
    return s as Snapshot
  }
}

/** A {@link RaftStorage} in one IndexedDB database; see the module documentation. */
export class IndexedDBRaftStorage implements RaftStorage {
  private closed = false

  private constructor (readonly name: string, private readonly db: RaftDB) {
    // another tab deleting or upgrading the database: let it, and fail later calls
    db.addEventListener('versionchange', () => { this.closeNow() })
  }

  /**
   * Opens (creating it if needed) database `name`.
   *
   * @throws {StorageError} if IndexedDB is unavailable, the database cannot
   * be opened, or it holds something other than a Raft storage.
   */
  static async open (name: string, options: IndexedDBRaftStorageOptions = {}): Promise<IndexedDBRaftStorage> {
    if (typeof name !== 'string' || name === '') throw new InvalidArgumentError('name must be a non-empty string')
    const factory = options.indexedDB ?? globalIndexedDB()
    if (factory === undefined) throw new StorageError(`IndexedDB "${name}": this runtime has no IndexedDB`)
    let db: RaftDB
    try {
      const request = factory.open(name, RAFT_DB_VERSION)
      request.addEventListener('upgradeneeded', () => {
        const raw = request.result
        if (!raw.objectStoreNames.contains(ENTRIES)) raw.createObjectStore(ENTRIES)
        if (!raw.objectStoreNames.contains(STATE)) raw.createObjectStore(STATE)
      })
      db = await (wrap(request) as Promise<RaftDB>)
    } catch (err) {
      throw storageError(name, 'opening the Raft storage', err)
    }
    if (!db.objectStoreNames.contains(ENTRIES) || !db.objectStoreNames.contains(STATE)) {
      db.close()
      throw new StorageError(`IndexedDB "${name}": the database exists but is not a Raft storage (another component uses this name); choose another name`)
    }
    return new IndexedDBRaftStorage(name, db)
  }

  /**
   * Reads everything back in one transaction.
   *
   * @throws {StorageError} if the stored data is malformed or not contiguous.
   */
  async load (): Promise<RaftPersistedState> {
    return await this.run('loading the Raft state', async () => {
      const tx = this.db.transaction([ENTRIES, STATE], 'readonly')
      const [hs, snap, keys, values] = await Promise.all([
        tx.objectStore(STATE).get(HARD_STATE_KEY),
        tx.objectStore(STATE).get(SNAPSHOT_KEY),
        tx.objectStore(ENTRIES).getAllKeys(),
        tx.objectStore(ENTRIES).getAll(),
        tx.done
      ])
      const hardState = { ...(hs === undefined ? INITIAL_HARD_STATE : checked.hardState(hs)) }
      const snapshot = snap === undefined ? undefined : checked.snapshot(snap)
      const first = (snapshot?.index ?? 0) + 1
      const entries = values.map((v, i) => {
        if (keys[i] !== first + i) throw new DecodeError(`entries are not contiguous after ${first - 1}: found ${keys[i]} at position ${i}`)
        return checked.entry(v, keys[i])
      })
      const last = first - 1 + entries.length
      if (hardState.commit > last) hardState.commit = last
      return { hardState, snapshot, entries }
    })
  }

  /** Replaces the hard state. */
  async saveHardState (hardState: HardState): Promise<void> {
    const value: HardState = { term: hardState.term, vote: hardState.vote, commit: hardState.commit }
    await this.write('saving the hard state', async tx => {
      await tx.objectStore(STATE).put(value, HARD_STATE_KEY)
    })
  }

  /**
   * Appends entries after the last stored one.
   *
   * @throws {InvalidArgumentError} if they do not follow it contiguously (nothing is written).
   */
  async append (entries: Entry[]): Promise<void> {
    if (!Array.isArray(entries)) throw new InvalidArgumentError('append() takes an array of entries')
    if (entries.length === 0) return
    await this.write('appending entries', async tx => {
      const store = tx.objectStore(ENTRIES)
      const lastKey = (await store.openKeyCursor(null, 'prev'))?.key
      const next = (lastKey ?? (await this.snapshotIndex(tx))) + 1
      entries.forEach((e, i) => {
        if (e?.index !== next + i) throw new InvalidArgumentError(`append: entry at ${String(e?.index)}, but the next index is ${next + i}`)
      })
      await Promise.all(entries.map(async e => await store.put({ term: e.term, index: e.index, type: e.type, data: e.data }, e.index)))
    })
  }

  /** Deletes every entry with index `>= from`. */
  async truncateSuffix (from: number): Promise<void> {
    checkIndex('truncateSuffix(from)', from, 1)
    await this.write('truncating entries', async tx => {
      await tx.objectStore(ENTRIES).delete(IDBKeyRange.lowerBound(from))
    })
  }

  /**
   * Saves `snapshot` and deletes the entries it covers in one transaction;
   * later entries stay only if the stored entry at `snapshot.index` has
   * `snapshot.term`.
   *
   * @throws {InvalidArgumentError} for a snapshot older than the stored one (nothing is written).
   */
  async saveSnapshot (snapshot: Snapshot): Promise<void> {
    checkIndex('snapshot.index', snapshot?.index, 1)
    const value: Snapshot = {
      index: snapshot.index,
      term: snapshot.term,
      conf: { voters: [...snapshot.conf.voters], learners: [...snapshot.conf.learners] },
      data: snapshot.data
    }
    await this.write('saving a snapshot', async tx => {
      const state = tx.objectStore(STATE)
      const entries = tx.objectStore(ENTRIES)
      const old = await state.get(SNAPSHOT_KEY) as Snapshot | undefined
      if (old !== undefined && snapshot.index < old.index) {
        throw new InvalidArgumentError(`saveSnapshot: a snapshot at ${snapshot.index} is older than the stored one at ${old.index}`)
      }
      const at = old?.index === snapshot.index ? old : await entries.get(snapshot.index)
      await Promise.all([
        at?.term === snapshot.term ? entries.delete(IDBKeyRange.upperBound(snapshot.index)) : entries.clear(),
        state.put(value, SNAPSHOT_KEY)
      ])
    })
  }

  /** Closes the database; later calls reject with `StorageError`. */
  async close (): Promise<void> {
    this.closeNow()
  }

  private closeNow (): void {
    if (this.closed) return
    this.closed = true
    this.db.close()
  }

  private async snapshotIndex (tx: Tx): Promise<number> {
    const s = await tx.objectStore(STATE).get(SNAPSHOT_KEY) as Snapshot | undefined
    return s?.index ?? 0
  }

  /**
   * Runs `body` in one readwrite transaction and resolves once that has
   * completed. If `body` throws, the transaction is aborted and its error
   * is rethrown (an `InvalidArgumentError` as is, anything else as a
   * `StorageError`).
   */
  private async write (action: string, body: (tx: Tx) => Promise<void>): Promise<void> {
    await this.run(action, async () => {
      const tx = this.db.transaction([ENTRIES, STATE], 'readwrite', { durability: 'strict' })
      // settle tx.done even when body fails first, so no rejection goes unhandled
      const done = tx.done.then(() => undefined, (err: unknown) => err ?? new DOMException('transaction aborted', 'AbortError'))
      try {
        await body(tx)
      } catch (err) {
        try { tx.abort() } catch { /* already finished */ }
        await done
        throw err
      }
      const failure = await done
      if (failure !== undefined) throw failure
    })
  }

  private async run<T> (action: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StorageError(`IndexedDB "${this.name}": the Raft storage is closed (or another tab deleted or upgraded the database)`)
    try {
      return await fn()
    } catch (err) {
      if (err instanceof InvalidArgumentError || err instanceof StorageError) throw err
      if (err instanceof DecodeError) throw new StorageError(`IndexedDB "${this.name}": corrupt Raft state: ${err.message}`, { cause: err })
      throw storageError(this.name, action, err)
    }
  }
}

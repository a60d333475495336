/**
 * `IndexedDBPersistence`: keeps a `Doc` in IndexedDB. It loads what is
 * stored, then stores every change as its own record; past `compactAfter`
 * records it merges them into one snapshot. Any number of tabs may persist
 * the same name at once: records are only ever added, and compaction
 * deletes only the records it merged, inside the transaction that read them.
 *
 * @module
 */
import { AbortError, Doc, InvalidArgumentError, StorageError } from 'aegis-replication'
import { ObservableV2 } from 'lib0/observable'
import { DB_VERSION, deleteDatabase, META, openDatabase, type PersistenceDB, REPLICA_ID_KEY, UPDATES } from './database.js'
import { mergeUpdates } from './merge-updates.js'
import { type IndexedDBPersistenceOptions, resolveOptions, type ResolvedPersistenceOptions } from './options.js'
import { errorName, storageError } from './storage-error.js'

/** Events of {@link IndexedDBPersistence}. */
export interface IndexedDBPersistenceEvents {
  /** Everything stored is in the doc; from now on every change is stored. */
  synced: (persistence: IndexedDBPersistence) => void
  /**
   * Loading or storing failed (quota exceeded, aborted transaction, another
   * tab upgrading or deleting the database, ...). The doc keeps working;
   * the message says whether changes are still stored.
   */
  error: (error: StorageError) => void
  /** The persistence stopped for good: `destroy()`, `clearData()` or the doc's `destroy()`. */
  destroy: (persistence: IndexedDBPersistence) => void
}

/**
 * - loading: opening the database and reading it
 * - open: storing changes
 * - stopped: the connection was lost or taken away; the doc is no longer stored
 * - destroyed: `destroy()` was called
 */
type State = 'loading' | 'open' | 'stopped' | 'destroyed'

let emptyStateVector: Uint8Array | undefined
/** The doc holds nothing at all (no dot in its causal context). */
const isEmpty = (doc: Doc): boolean => {
  emptyStateVector ??= new Doc().encodeStateVector()
  const sv = doc.encodeStateVector()
  return sv.length === emptyStateVector.length && sv.every((b, i) => b === emptyStateVector![i])
}

/**
 * Persists `doc` in the IndexedDB database `name` of this origin.
 *
 * On construction it opens the database, applies everything stored to the
 * doc in one update (origin: this persistence), then stores each change of
 * the doc as its own record — including changes made before loading
 * finished. {@link whenSynced} resolves, and `'synced'` fires, once loading
 * is done. Failures never throw out of the doc's event handlers: they are
 * `'error'` events carrying a `StorageError`.
 */
export class IndexedDBPersistence extends ObservableV2<IndexedDBPersistenceEvents> {
  /** The database name (one database per document). */
  readonly name: string
  /** The persisted doc. */
  readonly doc: Doc
  /**
   * Resolves once everything stored has been applied to the doc. Rejects
   * (with the `StorageError` also sent as `'error'`, or an `AbortError` after
   * `destroy()`) if loading fails.
   */
  readonly whenSynced: Promise<this>
  private readonly options: ResolvedPersistenceOptions
  private state: State = 'loading'
  private _synced = false
  private db: PersistenceDB | null = null
  /** Updates not yet handed to a transaction. */
  private queue: Uint8Array[] = []
  /** A write failed: the next write stores the doc's whole state instead of the queue. */
  private writeWholeState = false
  private storeReplicaId = false
  private flushScheduled = false
  /** Writes and compactions, one after another. */
  private work: Promise<void> = Promise.resolve()
  /** Records in the store, as far as this instance knows (other tabs add theirs). */
  private stored = 0
  /** Compact once `stored` exceeds this: `compactAfter`, or later after a failed compaction. */
  private compactAt: number
  private destroying: Promise<void> | null = null

  /**
   * @param name the database name; every tab that uses it shares the data
   * @param doc the doc to load into and store from
   * @throws {InvalidArgumentError} for an empty name or a bad option
   * @throws {StorageError} when there is no IndexedDB and none was passed
   */
  constructor (name: string, doc: Doc, options?: IndexedDBPersistenceOptions) {
    super()
    if (typeof name !== 'string' || name === '') throw new InvalidArgumentError('the database name must be a non-empty string')
    this.name = name
    this.doc = doc
    this.options = resolveOptions(options)
    this.compactAt = this.options.compactAfter
    doc.on('destroy', this.onDocDestroy)
    this.whenSynced = this.load()
    // failures are 'error' events as well: not awaiting whenSynced is fine
    this.whenSynced.catch(() => {})
  }

  /** True once everything stored has been applied to the doc. */
  get synced (): boolean {
    return this._synced
  }

  private async load (): Promise<this> {
    let db: PersistenceDB
    try {
      db = await openDatabase(this.options.indexedDB, this.name, {
        blocked: (current, requested) => this.report(new StorageError(
          `IndexedDB "${this.name}": opening version ${String(requested)} is blocked by a connection to version ${current} in another tab; loading continues once that tab closes or reloads`)),
        versionchange: v => this.onVersionChange(v),
        terminated: () => this.stop(new StorageError(
          `IndexedDB "${this.name}": the browser closed the connection (site data cleared, or a disk error); changes are no longer stored`))
      })
    } catch (err) {
      throw this.loadFailed('opening the database', err)
    }
    if (this.state !== 'loading') {
      db.close()
      throw this.notLoaded()
    }
    this.db = db
    let records: Uint8Array[]
    let storedId: string | undefined
    try {
      const tx = db.transaction([UPDATES, META], 'readonly')
      ;[records, storedId] = await Promise.all([tx.objectStore(UPDATES).getAll(), tx.objectStore(META).get(REPLICA_ID_KEY), tx.done])
    } catch (err) {
      throw this.loadFailed('loading stored updates', err)
    }
    if (this.state !== 'loading') throw this.notLoaded()

    // synchronous from here: no change of the doc can fall between loading and listening
    const doc = this.doc
    const before = isEmpty(doc) ? null : doc.encodeStateAsUpdate()
    this.applyStored(records)
    this.stored = records.length
    this.state = 'open'
    doc.on('update', this.onUpdate)
    if (before !== null) this.queue.push(before) // edits made while loading
    this.storeReplicaId = storedId !== doc.replicaId
    if (this.queue.length > 0 || this.storeReplicaId || this.stored > this.compactAt) this.schedule()
    this._synced = true
    this.safeEmit('synced', [this])
    return this
  }

  /**
   * Applies every record to the doc as one update (one 'update' and one
   * 'change' event, origin: this persistence). If some record cannot be
   * decoded, nothing is applied by that first attempt: the records are
   * merged one by one instead, and each bad one is reported and skipped.
   */
  private applyStored (records: Uint8Array[]): void {
    try {
      this.doc.applyUpdates(records, this)
      return
    } catch (err) {
      if (errorName(err) !== 'DecodeError' || records.length === 1) {
        this.report(storageError(this.name, 'applying the stored state', err))
        return
      }
    }
    const { update, bad } = mergeUpdates(records)
    for (const { index, error } of bad) this.report(storageError(this.name, `decoding stored update ${index + 1} of ${records.length} (skipped)`, error))
    if (update === null) return
    try {
      this.doc.applyUpdate(update, this)
    } catch (err) {
      this.report(storageError(this.name, 'applying the stored state', err))
    }
  }

  private loadFailed (action: string, err: unknown): Error {
    if (this.state !== 'loading') return this.notLoaded()
    const error = storageError(this.name, action, err)
    this.stop(error)
    return error
  }

  private notLoaded (): Error {
    return this.state === 'destroyed'
      ? new AbortError(`IndexedDB "${this.name}": destroyed before the stored updates were loaded`)
      : new StorageError(`IndexedDB "${this.name}": the connection closed before the stored updates were loaded`)
  }

  private readonly onUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === this) return
    this.queue.push(update)
    this.schedule()
  }

  private readonly onDocDestroy = (): void => {
    void this.destroy()
  }

  /** Queues a flush; changes made in the same task share one transaction (one record each). */
  private schedule (): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    this.work = this.work
      .then(() => this.writeQueued())
      .catch(err => this.report(storageError(this.name, 'storing changes', err)))
  }

  private takeBatch (): Uint8Array[] {
    if (!this.writeWholeState) return this.queue.splice(0)
    this.writeWholeState = false
    this.queue.length = 0
    return [this.doc.encodeStateAsUpdate()]
  }

  private async writeQueued (): Promise<void> {
    this.flushScheduled = false
    const db = this.db
    if (db === null) {
      this.queue.length = 0
      return
    }
    if (this.queue.length > 0 || this.storeReplicaId) {
      try {
        await this.write(db, this.takeBatch())
      } catch (err) {
        this.writeFailed('saving an update', err)
        return
      }
    }
    if (this.stored > this.compactAt && this.state === 'open' && this.db === db) await this.compact(db)
  }

  /** Starts one readwrite transaction at once (so it can run just before a close). */
  private write (db: PersistenceDB, batch: Uint8Array[]): Promise<void> {
    const tx = db.transaction([UPDATES, META], 'readwrite')
    const updates = tx.objectStore(UPDATES)
    const requests: Array<Promise<unknown>> = batch.map(u => updates.add(u))
    const withId = this.storeReplicaId
    if (withId) requests.push(tx.objectStore(META).put(this.doc.replicaId, REPLICA_ID_KEY))
    requests.push(tx.done)
    return Promise.all(requests).then(() => {
      this.stored += batch.length
      if (withId) this.storeReplicaId = false
    })
  }

  private writeFailed (action: string, err: unknown): void {
    const error = storageError(this.name, action, err)
    if (errorName(err) === 'InvalidStateError') {
      this.stop(error) // the connection is gone
      return
    }
    // what failed is still in the doc: store its whole state with the next change
    this.writeWholeState = true
    this.report(error)
  }

  /**
   * Merges every record into one, in a single readwrite transaction. Only
   * the keys read inside it are deleted: a record another tab adds later
   * gets a higher key and stays.
   */
  private async compact (db: PersistenceDB): Promise<void> {
    let total = 0
    let bad: ReturnType<typeof mergeUpdates>['bad'] = []
    try {
      const tx = db.transaction(UPDATES, 'readwrite')
      const store = tx.store
      const [keys, records] = await Promise.all([store.getAllKeys(), store.getAll()])
      total = records.length
      const requests: Array<Promise<unknown>> = []
      if (records.length > 1) {
        const merged = mergeUpdates(records)
        bad = merged.bad
        requests.push(store.delete(IDBKeyRange.upperBound(keys[keys.length - 1])))
        if (merged.update !== null) requests.push(store.add(merged.update))
        // undecodable records (a newer format?) are kept, not dropped
        for (const { index } of bad) requests.push(store.add(records[index]))
      }
      requests.push(tx.done)
      await Promise.all(requests)
    } catch (err) {
      // nothing is lost (the transaction rolled back): report it, and retry after compactAfter more records
      const error = storageError(this.name, 'compacting stored updates', err)
      if (errorName(err) === 'InvalidStateError') this.stop(error)
      else {
        this.compactAt = this.stored + this.options.compactAfter
        this.report(error)
      }
      return
    }
    this.compactAt = this.options.compactAfter
    if (total > 1) this.stored = 1 + bad.length
    for (const { index, error } of bad) this.report(storageError(this.name, `compacting: stored update ${index + 1} of ${total} could not be decoded (kept as is)`, error))
  }

  private onVersionChange (newVersion: number | null): void {
    const db = this.db
    if (db !== null && this.state === 'open') {
      // store what is queued while the connection still works: close() lets the transaction finish
      const batch = this.takeBatch()
      if (batch.length > 0) {
        try {
          this.write(db, batch).catch(err => this.report(storageError(this.name, 'saving the last changes before closing', err)))
        } catch (err) {
          this.report(storageError(this.name, 'saving the last changes before closing', err))
        }
      }
    }
    this.stop(new StorageError(newVersion === null
      ? `IndexedDB "${this.name}" is being deleted (clearData() here or in another tab): the connection closed and changes are no longer stored`
      : `IndexedDB "${this.name}": another tab opened it with version ${newVersion} (this code uses ${DB_VERSION}): the connection closed so that tab can upgrade, and changes are no longer stored here; reload the page`))
  }

  /** The connection is gone or was given up: keep the doc, stop storing, say so. */
  private stop (error: StorageError): void {
    if (this.state === 'stopped' || this.state === 'destroyed') return
    this.state = 'stopped'
    this.doc.off('update', this.onUpdate)
    this.db?.close()
    this.db = null
    this.queue.length = 0
    this.report(error)
  }

  private report (error: StorageError): void {
    this.safeEmit('error', [error])
  }

  /** A throwing listener must not break storing: its error is rethrown on its own. */
  private safeEmit<N extends keyof IndexedDBPersistenceEvents & string> (name: N, args: Parameters<IndexedDBPersistenceEvents[N]>): void {
    try {
      this.emit(name, args)
    } catch (err) {
      queueMicrotask(() => { throw err })
    }
  }

  /**
   * Resolves once every change made so far is stored (after loading, if
   * that is still going on). Failures do not reject: they are `'error'`
   * events.
   */
  async flush (): Promise<void> {
    await this.whenSynced.catch(() => {})
    await this.work
  }

  /**
   * Stops storing and closes the database, after the changes already
   * made are stored; then emits `'destroy'`. Called by the doc's
   * `destroy()` too. The stored data stays (see {@link clearData}).
   */
  override destroy (): Promise<void> {
    if (this.destroying !== null) return this.destroying
    this.state = 'destroyed'
    this.doc.off('update', this.onUpdate)
    this.doc.off('destroy', this.onDocDestroy)
    this.destroying = (async () => {
      await this.work
      this.db?.close()
      this.db = null
      this.safeEmit('destroy', [this])
      super.destroy()
    })()
    return this.destroying
  }

  /**
   * Destroys this persistence and deletes the database. Other tabs that
   * persist the same name close their connections (they get an `'error'`
   * event and stop storing). Resolves once the database is gone.
   *
   * @throws {StorageError} if the database could not be deleted
   */
  async clearData (): Promise<void> {
    this.queue.length = 0
    this.writeWholeState = false
    this.storeReplicaId = false
    await this.destroy()
    try {
      await deleteDatabase(this.options.indexedDB, this.name)
    } catch (err) {
      throw storageError(this.name, 'deleting the database', err)
    }
  }
}

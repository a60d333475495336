/**
 * A stored update this build refuses (a newer format version, or a newer
 * container type) on the two storage load paths: the hub's room storage
 * refuses to open (DecodeError with the upgrade message, nothing half
 * loaded, the record left on disk), and IndexedDB persistence reports a
 * StorageError with that message, loads the other records, and keeps the
 * refused record through compaction.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, describe, expect, it } from 'vitest'
import { DecodeError, Doc, StorageError } from 'aegis-replication'
import { RoomStorage } from 'aegis-replication/hub'
import { IndexedDBPersistence } from 'aegis-replication/indexeddb'
import { until } from '../../support/net.js'
import { handMade } from './format-2-support.js'

const dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map(async (d) => { await rm(d, { recursive: true, force: true }) }))
})

/** Updates of a writer doc: counter 'n' incremented `n` times. */
const updates = (n: number): Uint8Array[] => {
  const writer = new Doc({ replicaId: 'writer' })
  const out: Uint8Array[] = []
  writer.on('update', (u: Uint8Array) => { out.push(u) })
  for (let i = 0; i < n; i++) writer.counter('n').increment(1)
  return out
}

const newerVersion = (): Uint8Array => { const u = updates(1)[0].slice(); u[0] = 9; return u }
const UPGRADE = /upgrade aegis-replication/

describe('a refused update in storage', () => {
  for (const [what, bad, message] of [
    ['a newer format version', newerVersion, /update format version 9: this build of aegis-replication reads versions 1 and 2/],
    ['a newer container type', () => handMade(2, 4), /unknown container type 4/]
  ] as const) {
    it(`hub room storage: ${what} in the log refuses to open, with the upgrade message, and stays on disk`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'aegis-refused-'))
      dirs.push(dir)
      const s = await RoomStorage.open(dir, 'hub', { fsync: false, compactAfter: 1000 })
      for (const u of updates(3)) await s.append(u)
      await s.append(bad())
      await s.close()
      for (let attempt = 0; attempt < 2; attempt++) {
        const error = await RoomStorage.open(dir, 'hub', { fsync: false }).then(() => null, (err: unknown) => err)
        expect(error).toBeInstanceOf(DecodeError)
        expect((error as Error).message).toMatch(message)
        expect((error as Error).message).toMatch(UPGRADE)
      }
    })

    it(`IndexedDB persistence: ${what} is reported as a StorageError with the upgrade message, not applied, and kept through compaction`, async () => {
      const indexedDB = new IDBFactory()
      const name = 'refused'
      // a database as a persistence leaves it, with good records and the refused one
      const first = new IndexedDBPersistence(name, new Doc({ replicaId: 'first' }), { indexedDB })
      await first.whenSynced
      await first.destroy()
      const raw = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open(name)
        req.onsuccess = () => resolve(req.result)
        req.onerror = () => reject(req.error)
      })
      const refused = bad()
      await new Promise<void>((resolve, reject) => {
        const tx = raw.transaction('updates', 'readwrite')
        for (const u of [...updates(3), refused]) tx.objectStore('updates').add(u)
        tx.oncomplete = () => resolve()
        tx.onerror = () => reject(tx.error)
      })
      const stored = async (): Promise<Uint8Array[]> => await new Promise((resolve, reject) => {
        const req = raw.transaction('updates', 'readonly').objectStore('updates').getAll()
        req.onsuccess = () => resolve((req.result as unknown[]).map(x => new Uint8Array(x as Uint8Array)))
        req.onerror = () => reject(req.error)
      })

      const doc = new Doc({ replicaId: 'second' })
      const errors: StorageError[] = []
      const p = new IndexedDBPersistence(name, doc, { indexedDB, compactAfter: 1 })
      p.on('error', e => { errors.push(e) })
      await p.whenSynced
      expect(doc.toJSON()).toEqual({ n: 3 })
      await until(() => errors.length > 0, 'the error event', 10_000)
      expect(errors[0]).toBeInstanceOf(StorageError)
      expect(errors[0].message).toMatch(message)
      expect(errors[0].message).toMatch(UPGRADE)
      // compaction merges the good records and keeps the refused one as it is
      await until(async () => {
        const now = await stored()
        return now.length === 2 && now.some(u => u.length === refused.length && u.every((b, i) => b === refused[i]))
      }, 'compaction keeping the refused record', 10_000)
      await p.destroy()
      raw.close()
    })
  }
})

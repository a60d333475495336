/**
 * `IndexedDBPersistence` in real Chromium: bundles `adapters/indexeddb` with
 * the core straight from the TypeScript sources, serves the page on
 * 127.0.0.1 and drives Debian's Chromium through playwright-core. Pages of
 * one browser context share an origin, hence their IndexedDB: two pages are
 * two tabs.
 *
 * Needs `/usr/bin/chromium` (`apt-get update && apt-get install -y
 * chromium`, as root). `AEGIS_SKIP_BROWSER=1` skips it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type * as Aegis from '../../src/index.js'
import type * as AegisIdb from '../../adapters/indexeddb/index.js'
import { closeServer, launchChromium, loopbackContext, servePage } from './harness.js'

/** A StorageError as the page reports it. */
interface SeenError { name: string, message: string, isStorageError: boolean, causeName: string }

declare global {
  interface Window {
    /** Set by the test page: the bundled library, page helpers and state kept across `page.evaluate` calls. */
    idbTest: {
      core: typeof Aegis
      idb: typeof AegisIdb
      /** Records in the `updates` store of database `name` (0 if there is no such database). */
      countRecords: (name: string) => Promise<number>
      /** Names of this origin's databases. */
      databaseNames: () => Promise<string[]>
      /** Collects a persistence's 'error' events as plain objects. */
      watchErrors: (p: AegisIdb.IndexedDBPersistence) => SeenError[]
      s: Record<string, any>
    }
  }
}

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>loading</title>
<script type="module">
  import { core, idb } from './bundle.js'
  const countRecords = async name => {
    const names = (await indexedDB.databases()).map(d => d.name)
    if (!names.includes(name)) return 0
    return await new Promise((resolve, reject) => {
      const r = indexedDB.open(name)
      r.onerror = () => reject(r.error)
      r.onsuccess = () => {
        const db = r.result
        if (!db.objectStoreNames.contains('updates')) { db.close(); resolve(0); return }
        const c = db.transaction('updates').objectStore('updates').count()
        c.onsuccess = () => { db.close(); resolve(c.result) }
        c.onerror = () => { db.close(); reject(c.error) }
      }
    })
  }
  const databaseNames = async () => (await indexedDB.databases()).map(d => d.name)
  const watchErrors = p => {
    const seen = []
    p.on('error', e => seen.push({ name: e.name, message: e.message, isStorageError: e instanceof core.StorageError, causeName: e.cause?.name ?? '' }))
    return seen
  }
  window.idbTest = { core, idb, countRecords, databaseNames, watchErrors, s: {} }
  document.title = 'ready'
</script>
`

let dbCounter = 0
/** A database name no other test uses. */
const freshName = (what: string): string => `aegis-test-${what}-${++dbCounter}`

describe.skipIf(process.env.AEGIS_SKIP_BROWSER === '1')('IndexedDBPersistence in Chromium', () => {
  let dir: string | undefined
  let server: Server | undefined
  let browser: Browser | undefined
  let context: BrowserContext
  let page: Page
  let origin: string

  /** Uncaught errors and unhandled rejections of every page: each test must leave none. */
  let pageErrors: string[] = []

  const open = async (p: Page): Promise<void> => {
    p.on('pageerror', e => pageErrors.push(e.message))
    await p.goto(`${origin}/`)
    try {
      await p.waitForFunction(() => document.title === 'ready', undefined, { timeout: 10_000 })
    } catch (err) {
      throw new Error(`the test page did not load the bundle: ${pageErrors.join('; ') || String(err)}`)
    }
  }

  const reload = async (p: Page): Promise<void> => {
    await p.reload()
    await p.waitForFunction(() => document.title === 'ready', undefined, { timeout: 10_000 })
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aegis-idb-'))
    const served = await servePage(dir, PAGE, { core: 'aegis-replication', idb: 'aegis-replication/indexeddb' })
    server = served.server
    origin = served.origin
    browser = await launchChromium()
    context = await loopbackContext(browser)
    page = await context.newPage()
    await open(page)
  })

  afterEach(() => {
    const seen = pageErrors
    pageErrors = []
    expect(seen, 'uncaught errors in the page').toEqual([])
  })

  afterAll(async () => {
    await browser?.close()
    if (server !== undefined) await closeServer(server)
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('edits persist across a reload and load with no network at all', async () => {
    const name = freshName('persist')
    const before = await page.evaluate(async name => {
      const { core, idb } = window.idbTest
      const doc = new core.Doc({ replicaId: 'tab-1' })
      const p = new idb.IndexedDBPersistence(name, doc)
      // edited before loading finished: must be stored too
      doc.map('notes').set('early', 'typed while loading')
      const syncedBefore = p.synced
      await p.whenSynced
      doc.map('notes').set('n1', { title: 'Offline first', tags: ['idb'] })
      doc.counter('votes').increment(3)
      doc.set('tags').add('persisted')
      await new Promise(resolve => setTimeout(resolve, 0))
      doc.register('title').set('Board ✓')
      doc.map('notes').map('nested').counter('views').increment(2)
      doc.counter('votes').decrement()
      doc.transact(() => {
        doc.map('notes').set('n2', 'ünïcödé')
        doc.map('notes').delete('n1')
        doc.map('notes').set('n1', { title: 'Offline first, again' })
      })
      await p.flush()
      return { syncedBefore, syncedAfter: p.synced, json: doc.toJSON(), records: await window.idbTest.countRecords(name) }
    }, name)
    expect(before.syncedBefore).toBe(false)
    expect(before.syncedAfter).toBe(true)
    expect(before.records).toBeGreaterThan(0)

    await reload(page)
    // nothing but IndexedDB from here: the browser is offline
    await context.setOffline(true)
    try {
      const after = await page.evaluate(async name => {
        const { core, idb } = window.idbTest
        const doc = new core.Doc()
        let changeEvents = 0
        let loadUpdates = 0
        doc.on('change', () => { changeEvents++ })
        const p = new idb.IndexedDBPersistence(name, doc)
        doc.on('update', (_u, origin) => { if (origin === p) loadUpdates++ })
        let syncedEvents = 0
        p.on('synced', () => { syncedEvents++ })
        const errors = window.idbTest.watchErrors(p)
        const resolved = await p.whenSynced
        const json = doc.toJSON()
        await p.destroy()
        return { json, same: resolved === p, changeEvents, loadUpdates, syncedEvents, errors, online: navigator.onLine }
      }, name)
      expect(after.online).toBe(false)
      expect(after.same).toBe(true)
      expect(after.errors).toEqual([])
      expect(after.json).toEqual(before.json)
      expect(after.json).toEqual({
        notes: { early: 'typed while loading', n1: { title: 'Offline first, again' }, n2: 'ünïcödé', nested: { views: 2 } },
        tags: ['persisted'],
        title: 'Board ✓',
        votes: 2
      })
      // everything stored arrived as one update, one change event
      expect(after.changeEvents).toBe(1)
      expect(after.syncedEvents).toBe(1)
    } finally {
      await context.setOffline(false)
    }
  })

  it('stores the replica id, and a doc that reuses it keeps counting its own changes', async () => {
    const name = freshName('replica-id')
    const r = await page.evaluate(async name => {
      const { core, idb } = window.idbTest
      const first = new core.Doc({ replicaId: 'laptop-7' })
      const p1 = new idb.IndexedDBPersistence(name, first)
      await p1.whenSynced
      first.counter('c').increment()
      first.map('m').set('a', 1)
      await p1.destroy()
      const stored = await idb.readReplicaId(name)

      const second = new core.Doc({ replicaId: stored })
      const p2 = new idb.IndexedDBPersistence(name, second)
      await p2.whenSynced // before editing: the doc learns its own past changes first
      second.map('m').set('b', 2)
      second.counter('c').increment()
      await p2.destroy()

      const third = new core.Doc()
      const p3 = new idb.IndexedDBPersistence(name, third)
      await p3.whenSynced
      await p3.flush()
      const afterThird = await idb.readReplicaId(name)
      await p3.destroy()
      return { stored, json: third.toJSON(), version: third.version().get('laptop-7'), thirdId: third.replicaId, afterThird }
    }, name)
    expect(r.stored).toBe('laptop-7')
    expect(r.json).toEqual({ c: 2, m: { a: 1, b: 2 } })
    expect(r.version).toBe(4) // four changes by laptop-7, no sequence number used twice
    expect(r.afterThird).toBe(r.thirdId)
  })

  it('compacts: 1,200 updates with compactAfter 500 leave few records, and the reload has all data', async () => {
    const name = freshName('compact')
    const r = await page.evaluate(async name => {
      const { core, idb, countRecords } = window.idbTest
      const doc = new core.Doc()
      const p = new idb.IndexedDBPersistence(name, doc, { compactAfter: 500 })
      const errors = window.idbTest.watchErrors(p)
      await p.whenSynced
      let updates = 0
      doc.on('update', () => { updates++ })
      let maxRecords = 0
      for (let i = 0; i < 1200; i++) {
        doc.transact(() => {
          doc.map('items').set(`k${i}`, { i, text: `item ${i}` })
          doc.counter('n').increment()
        })
        // 10 changes per task: 10 records per transaction
        if (i % 10 === 9) {
          await new Promise(resolve => setTimeout(resolve, 0))
          if (i % 100 === 99) { await p.flush(); maxRecords = Math.max(maxRecords, await countRecords(name)) }
        }
      }
      await p.flush()
      const records = await countRecords(name)
      const json = doc.toJSON()
      await p.destroy()
      return { updates, records, maxRecords, errors, json }
    }, name)
    expect(r.errors).toEqual([])
    expect(r.updates).toBe(1200)
    expect(r.maxRecords).toBeLessThanOrEqual(510) // never much past compactAfter
    expect(r.records).toBeLessThan(300)
    console.log(`compaction: 1,200 updates with compactAfter 500 → ${r.records} records stored`)

    await reload(page)
    const loaded = await page.evaluate(async name => {
      const { core, idb } = window.idbTest
      const doc = new core.Doc()
      const p = new idb.IndexedDBPersistence(name, doc, { compactAfter: 500 })
      await p.whenSynced
      const json = doc.toJSON()
      await p.destroy()
      return json
    }, name)
    expect(loaded).toEqual(r.json)
    expect(loaded.n).toBe(1200)
    expect(Object.keys(loaded.items as object)).toHaveLength(1200)
    expect((loaded.items as Record<string, unknown>).k1199).toEqual({ i: 1199, text: 'item 1199' })
  })

  it('two tabs write one database at once, also while the other compacts, and lose nothing', async () => {
    const name = freshName('two-tabs')
    const other = await context.newPage()
    try {
      await open(other)
      const edits = 400
      const run = (p: Page, tab: string): Promise<{ records: number, errors: SeenError[], json: Record<string, unknown> }> =>
        p.evaluate(async ({ name, tab, edits }) => {
          const { core, idb, countRecords } = window.idbTest
          const doc = new core.Doc({ replicaId: tab })
          const persistence = new idb.IndexedDBPersistence(name, doc, { compactAfter: 25 })
          const errors = window.idbTest.watchErrors(persistence)
          await persistence.whenSynced
          for (let i = 0; i < edits; i++) {
            doc.map(tab).set(`e${i}`, i)
            doc.counter('total').increment()
            if (i % 3 === 0) doc.set('all').add(`${tab}-${i}`)
            if (i % 50 === 0) doc.map('shared').set('last', `${tab} ${i}`)
            // one change per task: the two tabs' transactions interleave record by record
            if (i % 2 === 1) await new Promise(resolve => setTimeout(resolve, 0))
          }
          await persistence.flush()
          const records = await countRecords(name)
          await persistence.destroy()
          return { records, errors, json: doc.toJSON() }
        }, { name, tab, edits })
      const [a, b] = await Promise.all([run(page, 'tab-a'), run(other, 'tab-b')])
      expect(a.errors).toEqual([])
      expect(b.errors).toEqual([])

      await reload(page)
      const merged = await page.evaluate(async name => {
        const { core, idb, countRecords } = window.idbTest
        const doc = new core.Doc()
        const p = new idb.IndexedDBPersistence(name, doc, { compactAfter: 1 })
        await p.whenSynced
        await p.flush() // loading more than compactAfter records compacts them
        const records = await countRecords(name)
        await p.destroy()
        return { json: doc.toJSON(), records }
      }, name)
      const json = merged.json as { 'tab-a': Record<string, number>, 'tab-b': Record<string, number>, total: number, all: string[], shared: { last: string } }
      expect(Object.keys(json['tab-a'])).toHaveLength(edits)
      expect(Object.keys(json['tab-b'])).toHaveLength(edits)
      expect(json['tab-a'].e399).toBe(399)
      expect(json['tab-b'].e0).toBe(0)
      expect(json.total).toBe(2 * edits)
      expect(json.all).toHaveLength(2 * Math.ceil(edits / 3))
      expect(['tab-a 350', 'tab-b 350']).toContain(json.shared.last)
      expect(merged.records).toBe(1)
      // each tab's own doc is part of what was stored
      expect(json).toMatchObject({ 'tab-a': a.json['tab-a'], 'tab-b': b.json['tab-b'] })
    } finally {
      await other.close()
    }
  })

  it('destroy stops storing; the doc\'s destroy destroys it; clearData removes everything', async () => {
    const name = freshName('clear')
    const r = await page.evaluate(async name => {
      const { core, idb, countRecords, databaseNames } = window.idbTest
      const doc = new core.Doc()
      const p = new idb.IndexedDBPersistence(name, doc)
      await p.whenSynced
      doc.map('m').set('kept', true)
      let destroyEvents = 0
      p.on('destroy', () => { destroyEvents++ })
      await p.destroy()
      await p.destroy() // twice is fine
      const recordsAtDestroy = await countRecords(name)
      doc.map('m').set('not stored', true) // the doc keeps working
      await new Promise(resolve => setTimeout(resolve, 20))
      const recordsLater = await countRecords(name)

      // the doc's destroy() destroys its persistence
      const doc2 = new core.Doc()
      const p2 = new idb.IndexedDBPersistence(name, doc2)
      await p2.whenSynced
      const loaded = doc2.toJSON()
      const p2Destroyed = new Promise<boolean>(resolve => p2.on('destroy', () => resolve(true)))
      doc2.destroy()
      const destroyedWithDoc = await p2Destroyed

      const doc3 = new core.Doc()
      const p3 = new idb.IndexedDBPersistence(name, doc3)
      await p3.whenSynced
      const namesBefore = await databaseNames()
      await p3.clearData()
      const namesAfter = await databaseNames()

      const doc4 = new core.Doc()
      const p4 = new idb.IndexedDBPersistence(name, doc4)
      await p4.whenSynced
      const afterClear = doc4.toJSON()
      await p4.clearData()
      return { destroyEvents, recordsAtDestroy, recordsLater, loaded, destroyedWithDoc, had: namesBefore.includes(name), has: namesAfter.includes(name), afterClear, still: doc.toJSON() }
    }, name)
    expect(r.destroyEvents).toBe(1)
    expect(r.recordsAtDestroy).toBe(1)
    expect(r.recordsLater).toBe(1)
    expect(r.loaded).toEqual({ m: { kept: true } })
    expect(r.still).toEqual({ m: { kept: true, 'not stored': true } })
    expect(r.destroyedWithDoc).toBe(true)
    expect(r.had).toBe(true)
    expect(r.has).toBe(false)
    expect(r.afterClear).toEqual({})
  })

  it('another tab upgrading the database is an error event; the doc keeps working; a newer version is reported', async () => {
    const name = freshName('versionchange')
    const r = await page.evaluate(async name => {
      const { core, idb } = window.idbTest
      const doc = new core.Doc()
      const p = new idb.IndexedDBPersistence(name, doc)
      const errors = window.idbTest.watchErrors(p)
      await p.whenSynced
      doc.map('m').set('before', 1)
      await p.flush()
      // "another tab" (same origin) opens the database with a newer version
      const upgraded = await new Promise<number>((resolve, reject) => {
        const req = indexedDB.open(name, 2)
        req.onblocked = () => reject(new Error('the upgrade was blocked: the persistence did not close'))
        req.onerror = () => reject(req.error)
        req.onsuccess = () => { const v = req.result.version; req.result.close(); resolve(v) }
      })
      doc.map('m').set('after', 2) // no throw
      doc.counter('c').increment()
      await p.flush()
      // a persistence on a database of a newer version: error event and whenSynced rejects
      const p2 = new idb.IndexedDBPersistence(name, new core.Doc())
      const errors2 = window.idbTest.watchErrors(p2)
      const rejected = await p2.whenSynced.then(() => null, (e: Error) => ({ name: e.name, message: e.message }))
      await p.destroy()
      await p2.destroy()
      return { upgraded, errors, errors2, rejected, json: doc.toJSON() }
    }, name)
    expect(r.upgraded).toBe(2)
    expect(r.errors).toHaveLength(1)
    expect(r.errors[0]).toMatchObject({ name: 'StorageError', isStorageError: true })
    expect(r.errors[0].message).toContain('another tab opened it with version 2')
    expect(r.json).toEqual({ c: 1, m: { before: 1, after: 2 } })
    expect(r.errors2).toHaveLength(1)
    expect(r.errors2[0]).toMatchObject({ name: 'StorageError', causeName: 'VersionError' })
    expect(r.errors2[0].message).toContain('newer version')
    expect(r.rejected).toMatchObject({ name: 'StorageError' })
  })

  it('an aborted transaction and a connection closed underneath are error events; the doc keeps working and loses nothing', async () => {
    const name = freshName('abort')
    const r = await page.evaluate(async name => {
      const { core, idb } = window.idbTest
      // 1. every add aborts its transaction
      const doc = new core.Doc()
      const p = new idb.IndexedDBPersistence(name, doc)
      const errors = window.idbTest.watchErrors(p)
      await p.whenSynced
      doc.map('m').set('first', 1)
      await p.flush()
      const add = IDBObjectStore.prototype.add
      IDBObjectStore.prototype.add = function (this: IDBObjectStore, ...args: [unknown, IDBValidKey?]) {
        const req = add.apply(this, args)
        this.transaction.abort()
        return req
      }
      try {
        doc.map('m').set('lost?', 2)
        await p.flush()
      } finally {
        IDBObjectStore.prototype.add = add
      }
      const errorsAfterAbort = errors.length
      doc.map('m').set('third', 3) // stores the whole state: 'lost?' too
      await p.flush()
      await p.destroy()
      const reloaded = new core.Doc()
      const pr = new idb.IndexedDBPersistence(name, reloaded)
      await pr.whenSynced
      await pr.destroy()

      // 2. the connection is closed underneath (an injected factory hands it out)
      const connections: IDBDatabase[] = []
      const factory = {
        open: (n: string, v?: number) => {
          const req = indexedDB.open(n, v)
          req.addEventListener('success', () => connections.push(req.result))
          return req
        },
        deleteDatabase: (n: string) => indexedDB.deleteDatabase(n),
        cmp: (a: unknown, b: unknown) => indexedDB.cmp(a, b),
        databases: () => indexedDB.databases()
      } satisfies IDBFactory
      const doc2 = new core.Doc()
      const p2 = new idb.IndexedDBPersistence(name, doc2, { indexedDB: factory })
      const errors2 = window.idbTest.watchErrors(p2)
      await p2.whenSynced
      connections[0].close()
      doc2.map('m').set('after close', true) // no throw
      await p2.flush()
      doc2.map('m').set('still works', true)
      await p2.flush()
      await p2.destroy()
      return { errors, errorsAfterAbort, reloaded: reloaded.toJSON(), errors2, json2: doc2.toJSON() }
    }, name)
    expect(r.errorsAfterAbort).toBe(1)
    expect(r.errors).toHaveLength(1)
    expect(r.errors[0]).toMatchObject({ name: 'StorageError', isStorageError: true, causeName: 'AbortError' })
    expect(r.errors[0].message).toContain('aborted')
    expect(r.reloaded).toEqual({ m: { first: 1, 'lost?': 2, third: 3 } })
    expect(r.errors2).toHaveLength(1) // reported once, then it stops storing
    expect(r.errors2[0]).toMatchObject({ name: 'StorageError', causeName: 'InvalidStateError' })
    expect(r.errors2[0].message).toContain('connection is closed')
    expect(r.json2).toEqual({ m: { first: 1, 'lost?': 2, third: 3, 'after close': true, 'still works': true } })
  })

  it('site data cleared underneath (the browser closes the connection) is an error event; the doc keeps working', async () => {
    const name = freshName('terminated')
    await page.evaluate(async name => {
      const { core, idb, s } = window.idbTest
      s.doc = new core.Doc()
      s.p = new idb.IndexedDBPersistence(name, s.doc)
      s.errors = window.idbTest.watchErrors(s.p)
      await s.p.whenSynced
      s.doc.map('m').set('a', 1)
      await s.p.flush()
    }, name)
    const cdp = await context.newCDPSession(page)
    try {
      await cdp.send('Storage.clearDataForOrigin', { origin, storageTypes: 'indexeddb' })
    } finally {
      await cdp.detach()
    }
    const r = await page.evaluate(async () => {
      const { s, databaseNames } = window.idbTest
      for (let i = 0; i < 100 && s.errors.length === 0; i++) await new Promise(resolve => setTimeout(resolve, 10))
      s.doc.map('m').set('b', 2) // no throw
      await s.p.flush()
      await s.p.destroy()
      return { errors: s.errors as SeenError[], json: s.doc.toJSON(), names: await databaseNames() }
    })
    expect(r.errors).toHaveLength(1)
    expect(r.errors[0]).toMatchObject({ name: 'StorageError', isStorageError: true })
    expect(r.errors[0].message).toContain('the browser closed the connection')
    expect(r.json).toEqual({ m: { a: 1, b: 2 } })
    expect(r.names).not.toContain(name) // not recreated behind the user's back
  })

  it('a full quota is an error event; once there is room the next change stores everything', async () => {
    const name = freshName('quota')
    // Chromium fixes an origin's quota at its first storage use: a fresh context (fresh origin
    // storage) gets the override before any IndexedDB call
    const quotaContext = await loopbackContext(browser!)
    try {
      const quotaPage = await quotaContext.newPage()
      const cdp = await quotaContext.newCDPSession(quotaPage)
      await open(quotaPage)
      await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1024 * 1024 })
      const full = await quotaPage.evaluate(async name => {
        const { core, idb, s } = window.idbTest
        const doc = (s.doc = new core.Doc())
        const p = (s.p = new idb.IndexedDBPersistence(name, doc))
        const errors = (s.errors = window.idbTest.watchErrors(p))
        await p.whenSynced
        doc.map('m').set('small', 1)
        await p.flush()
        const beforeBig = errors.length
        doc.map('m').set('big', 'x'.repeat(2 * 1024 * 1024))
        await p.flush()
        doc.map('m').set('small 2', 2) // the whole state goes next, still too big
        await p.flush()
        return { beforeBig, errors: [...errors] }
      }, name)
      await cdp.send('Storage.overrideQuotaForOrigin', { origin })
      const after = await quotaPage.evaluate(async name => {
        const { core, idb, s } = window.idbTest
        s.doc.map('m').set('small 3', 3)
        await s.p.flush()
        await s.p.destroy()
        const doc = new core.Doc()
        const p = new idb.IndexedDBPersistence(name, doc)
        await p.whenSynced
        const m = doc.map('m')
        const r = { keys: [...m.keys()].sort(), bigLength: String(m.get('big')).length, errors: s.errors.length }
        await p.clearData()
        return r
      }, name)
      expect(full.beforeBig).toBe(0)
      expect(full.errors).toHaveLength(2)
      for (const e of full.errors) {
        expect(e).toMatchObject({ name: 'StorageError', isStorageError: true, causeName: 'QuotaExceededError' })
        expect(e.message).toContain('storage quota exceeded')
      }
      expect(after.errors).toBe(2) // none once there is room
      expect(after.keys).toEqual(['big', 'small', 'small 2', 'small 3'])
      expect(after.bigLength).toBe(2 * 1024 * 1024)
    } finally {
      await quotaContext.close()
    }
  })

  it('timing: loading 10,000 stored updates before and after compaction', async () => {
    const name = freshName('timing')
    const r = await page.evaluate(async name => {
      const { core, idb, countRecords } = window.idbTest
      const never = Number.MAX_SAFE_INTEGER
      const doc = new core.Doc({ replicaId: 'writer' })
      const p = new idb.IndexedDBPersistence(name, doc, { compactAfter: never })
      await p.whenSynced
      for (let i = 0; i < 10_000; i++) {
        doc.transact(() => {
          doc.map('rows').set(`r${i % 2000}`, { i, text: `row ${i}` })
          doc.counter('edits').increment()
        })
        if (i % 100 === 99) await new Promise(resolve => setTimeout(resolve, 0))
      }
      await p.flush()
      const expected = doc.toJSON()
      const recordsBefore = await countRecords(name)
      await p.destroy()

      const load = async (compactAfter: number): Promise<{ ms: number, same: boolean, records: number }> => {
        const d = new core.Doc()
        const t0 = performance.now()
        const q = new idb.IndexedDBPersistence(name, d, { compactAfter })
        await q.whenSynced
        const ms = performance.now() - t0
        await q.flush() // compacts when it loaded more than compactAfter records
        const records = await countRecords(name)
        await q.destroy()
        return { ms, same: JSON.stringify(d.toJSON()) === JSON.stringify(expected), records }
      }
      const uncompacted = await load(never)
      const compacting = await load(500)
      const compacted = await load(500)
      return { recordsBefore, uncompacted, compacting, compacted }
    }, name)
    console.log(`timing: load of ${r.recordsBefore} stored updates ${r.uncompacted.ms.toFixed(1)} ms (again, then compacting: ${r.compacting.ms.toFixed(1)} ms); ` +
      `after compaction to ${r.compacting.records} record(s): ${r.compacted.ms.toFixed(1)} ms`)
    expect(r.recordsBefore).toBe(10_000)
    expect(r.uncompacted.same).toBe(true)
    expect(r.compacting.same).toBe(true)
    expect(r.compacted.same).toBe(true)
    expect(r.compacting.records).toBe(1)
  })
})

/**
 * Two users in real Chromium, each in a browser context of their own
 * (separate IndexedDB), sync one room through a hub that runs in the test
 * process: `WebSocketProvider` (the browser's own WebSocket) and
 * `IndexedDBPersistence`, bundled with the core from the TypeScript sources.
 * The hub really goes away (`hub.close()`) and comes back on the same port
 * and data directory; the pages reconnect by themselves.
 *
 * Tests only talk to 127.0.0.1. Needs `/usr/bin/chromium`
 * (`apt-get update && apt-get install -y chromium`, as root).
 * `AEGIS_SKIP_BROWSER=1` skips it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { Doc, silentLogger } from 'aegis-replication'
import { createHub, type Hub } from 'aegis-replication/hub'
import { WebSocketProvider } from 'aegis-replication/websocket'
import type * as Aegis from '../../src/index.js'
import type * as AegisWs from '../../adapters/websocket/index.js'
import type * as AegisIdb from '../../adapters/indexeddb/index.js'
import { closeServer, launchChromium, loopbackContext, servePage } from './harness.js'

/** One user's doc, persistence and provider, and what the provider reported. */
interface Session {
  doc: Aegis.Doc
  persistence: AegisIdb.IndexedDBPersistence
  provider: AegisWs.WebSocketProvider
  /** Every `status` event, in order. */
  statuses: AegisWs.ProviderStatus[]
  /** Every `pending` event, in order. */
  pendings: number[]
}

/** What `state()` reports of the page's session. */
interface SessionState {
  status: AegisWs.ProviderStatus
  synced: boolean
  pending: number
  json: Record<string, unknown>
  /** Names in the awareness states of other clients, sorted. */
  peers: string[]
  /** Client ids of the other clients' awareness states. */
  peerIds: number[]
  /** This page's awareness client id. */
  clientID: number
}

declare global {
  interface Window {
    /** Set by the test page: the bundled library and page helpers. */
    syncTest: {
      core: typeof Aegis
      ws: typeof AegisWs
      idb: typeof AegisIdb
      /**
       * Opens doc + persistence (awaits its load) + provider. `dbName`
       * undefined: no persistence.
       */
      open: (o: { url: string, room: string, dbName?: string }) => Promise<Session>
      /** Polls `pred` every 20 ms; throws after `ms`. */
      waitFor: (pred: () => boolean, what: string, ms?: number) => Promise<void>
      state: () => SessionState
      /** The session of this page, once opened. */
      s: Session
    }
  }
}

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>loading</title>
<script type="module">
  import { core, ws, idb } from './bundle.js'
  const waitFor = async (pred, what, ms = 10000) => {
    const t0 = performance.now()
    while (!pred()) {
      if (performance.now() - t0 > ms) throw new Error('timed out after ' + ms + ' ms waiting for ' + what)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }
  const open = async ({ url, room, dbName }) => {
    const doc = new core.Doc()
    const persistence = dbName === undefined ? undefined : new idb.IndexedDBPersistence(dbName, doc)
    if (persistence !== undefined) await persistence.whenSynced
    // short backoff: the hub comes back within seconds in these tests
    const provider = new ws.WebSocketProvider(url, room, doc, { minBackoffMs: 100, maxBackoffMs: 800 })
    const statuses = []
    const pendings = []
    provider.on('status', s => statuses.push(s))
    provider.on('pending', n => pendings.push(n))
    window.syncTest.s = { doc, persistence, provider, statuses, pendings }
    return window.syncTest.s
  }
  const state = () => {
    const { doc, provider } = window.syncTest.s
    const clientID = provider.awareness.clientID
    const peers = []
    const peerIds = []
    for (const [id, st] of provider.awareness.getStates()) {
      if (id === clientID) continue
      peerIds.push(id)
      if (typeof st.name === 'string') peers.push(st.name)
    }
    return { status: provider.status, synced: provider.synced, pending: provider.pending, json: doc.toJSON(), peers: peers.sort(), peerIds, clientID }
  }
  window.syncTest = { core, ws, idb, open, waitFor, state, s: undefined }
  document.title = 'ready'
</script>
`

const ROOM = 'board-1'
/** Each user's IndexedDB database (each context has its own storage). */
const DB = 'aegis-sync-board-1'

describe.skipIf(process.env.AEGIS_SKIP_BROWSER === '1')('two users sync a room through a hub, in Chromium', () => {
  let dir: string | undefined
  let dataDir: string
  let server: Server | undefined
  let browser: Browser | undefined
  let origin: string
  let hub: Hub | undefined
  /** The port of the first hub; restarts reuse it, so the pages' URL stays valid. */
  let hubPort = 0
  let hubUrl: string
  const contexts: Record<'alice' | 'bob' | 'carol', BrowserContext> = {} as never
  const pages: Record<'alice' | 'bob', Page> = {} as never

  /** Uncaught errors and unhandled rejections of every page: each test must leave none. */
  let pageErrors: string[] = []

  const startHub = async (): Promise<Hub> => {
    const h = await createHub({ port: hubPort, host: '127.0.0.1', dataDir, logger: silentLogger, idleMs: 60_000 })
    hubPort = h.port
    hubUrl = h.url
    hub = h
    return h
  }

  const stopHub = async (): Promise<void> => {
    const h = hub
    hub = undefined
    await h?.close()
  }

  const newContext = async (): Promise<BrowserContext> => {
    return await loopbackContext(browser!)
  }

  const load = async (p: Page, reload = false): Promise<void> => {
    if (reload) await p.reload()
    else await p.goto(`${origin}/`)
    try {
      await p.waitForFunction(() => document.title === 'ready', undefined, { timeout: 10_000 })
    } catch (err) {
      throw new Error(`the test page did not load the bundle: ${pageErrors.join('; ') || String(err)}`)
    }
  }

  const newPage = async (context: BrowserContext): Promise<Page> => {
    const p = await context.newPage()
    p.on('pageerror', e => pageErrors.push(e.message))
    await load(p)
    return p
  }

  const state = (p: Page): Promise<SessionState> => p.evaluate(() => window.syncTest.state())

  /** Waits until both pages are synced with nothing pending and hold the same doc; returns it. */
  const converged = async (): Promise<Record<string, unknown>> => {
    let last: [SessionState, SessionState] | undefined
    const deadline = Date.now() + 15_000
    while (Date.now() < deadline) {
      last = [await state(pages.alice), await state(pages.bob)]
      const [a, b] = last
      if (a.synced && b.synced && a.pending === 0 && b.pending === 0 && JSON.stringify(a.json) === JSON.stringify(b.json)) return a.json
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    throw new Error(`the pages did not converge: ${JSON.stringify(last)}`)
  }

  /**
   * The room as the hub has it, read by a Node-side client, and the names
   * in the presence the hub hands a newcomer (waits until `names` are all there).
   */
  const hubCopy = async (names: string[] = []): Promise<{ json: Record<string, unknown>, peers: string[] }> => {
    const doc = new Doc()
    const provider = new WebSocketProvider(hubUrl, ROOM, doc, { WebSocket })
    const peers = (): string[] => [...provider.awareness.getStates()]
      .filter(([id]) => id !== provider.awareness.clientID)
      .map(([, st]) => st.name)
      .filter((n): n is string => typeof n === 'string')
      .sort()
    try {
      await provider.whenSynced
      await expect.poll(peers, { timeout: 5000 }).toEqual(expect.arrayContaining(names))
      return { json: doc.toJSON(), peers: peers() }
    } finally {
      provider.destroy()
    }
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aegis-sync-browser-'))
    dataDir = join(dir, 'hub-data')
    const served = await servePage(dir, PAGE, { core: 'aegis-replication', ws: 'aegis-replication/websocket', idb: 'aegis-replication/indexeddb' })
    server = served.server
    origin = served.origin
    await startHub()
    browser = await launchChromium()
    contexts.alice = await newContext()
    contexts.bob = await newContext()
    pages.alice = await newPage(contexts.alice)
    pages.bob = await newPage(contexts.bob)
  })

  afterEach(() => {
    const seen = pageErrors
    pageErrors = []
    expect(seen, 'uncaught errors in the pages').toEqual([])
  })

  afterAll(async () => {
    await browser?.close()
    await stopHub()
    if (server !== undefined) await closeServer(server)
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('two users in separate contexts edit one room and converge', async () => {
    const start = (p: Page): Promise<SessionState> => p.evaluate(async ({ url, room, dbName }) => {
      const { s, state } = { s: await window.syncTest.open({ url, room, dbName }), state: window.syncTest.state }
      await s.provider.whenSynced
      return state()
    }, { url: hubUrl, room: ROOM, dbName: DB })
    const [a0, b0] = await Promise.all([start(pages.alice), start(pages.bob)])
    expect(a0).toMatchObject({ status: 'connected', synced: true, json: {} })
    expect(b0).toMatchObject({ status: 'connected', synced: true, json: {} })

    await Promise.all([
      pages.alice.evaluate(() => {
        const { doc } = window.syncTest.s
        doc.map('cards').set('a1', { title: 'Alice card', done: false })
        doc.counter('votes').increment(2)
        doc.set('tags').add('urgent')
        doc.transact(() => { doc.map('meta').set('owner', 'alice'); doc.set('tags').add('shared') })
      }),
      pages.bob.evaluate(() => {
        const { doc } = window.syncTest.s
        doc.map('cards').set('b1', { title: 'Bob card', done: true })
        doc.counter('votes').increment(3)
        doc.counter('votes').decrement()
        doc.set('tags').add('later')
        doc.set('tags').add('shared')
      })
    ])
    const json = await converged()
    expect(json).toEqual({
      cards: { a1: { title: 'Alice card', done: false }, b1: { title: 'Bob card', done: true } },
      votes: 4,
      tags: expect.arrayContaining(['urgent', 'shared', 'later']),
      meta: { owner: 'alice' }
    })
    expect(json.tags).toHaveLength(3)
    expect((await hubCopy()).json).toEqual(json)
  })

  it('offline for real: the hub stops, both edit, pending grows; a hub on the same port and data brings them back together', async () => {
    const before = await converged()
    await pages.alice.evaluate(() => { window.syncTest.s.provider.awareness.setLocalStateField('name', 'alice') })
    await pages.bob.evaluate(() => { window.syncTest.s.provider.awareness.setLocalStateField('name', 'bob') })
    await expect.poll(async () => [(await state(pages.alice)).peers, (await state(pages.bob)).peers]).toEqual([['bob'], ['alice']])
    await stopHub()
    // the pages notice the hub is gone: their sockets closed (no setOffline, which leaves sockets up)
    await Promise.all([pages.alice, pages.bob].map(p => p.evaluate(async () => {
      const { s, waitFor } = window.syncTest
      await waitFor(() => s.statuses.at(-1) === 'disconnected', "status 'disconnected'")
    })))
    const offline = await Promise.all([
      pages.alice.evaluate(() => {
        const { doc, provider } = window.syncTest.s
        doc.map('cards').set('a2', { title: 'written offline by alice' }) // new key
        doc.map('meta').set('colour', 'red') // conflicts with bob
        doc.map('cards').delete('b1') // bob edits it at the same time
        doc.counter('votes').increment(10)
        doc.set('tags').remove('urgent')
        doc.set('tags').add('offline-a')
        return { pending: provider.pending, status: provider.status, synced: provider.synced }
      }),
      pages.bob.evaluate(() => {
        const { doc, provider } = window.syncTest.s
        doc.map('cards').set('b2', { title: 'written offline by bob' })
        doc.map('meta').set('colour', 'blue')
        doc.map('cards').set('b1', { title: 'Bob card, edited offline', done: false })
        doc.counter('votes').decrement(5)
        doc.set('tags').add('urgent') // re-added while alice removes it
        doc.set('tags').add('offline-b')
        return { pending: provider.pending, status: provider.status, synced: provider.synced }
      })
    ])
    for (const o of offline) {
      expect(o.pending).toBeGreaterThan(0)
      expect(o.status).not.toBe('connected')
      expect(o.synced).toBe(false)
    }
    // a while of nothing: the pages keep retrying, and keep their edits pending
    await new Promise(resolve => setTimeout(resolve, 500))
    for (const p of [pages.alice, pages.bob]) {
      const s = await state(p)
      expect(s.pending).toBeGreaterThan(0)
      expect(s.status).not.toBe('connected')
    }

    await startHub()
    const after = await converged()
    // nothing was said to the pages: they came back by backoff, and their pending counts fell to 0
    for (const p of [pages.alice, pages.bob]) {
      const seen = await p.evaluate(() => ({ statuses: window.syncTest.s.statuses, pendings: window.syncTest.s.pendings }))
      expect(seen.statuses.at(-1)).toBe('connected')
      expect(seen.statuses.filter(s => s === 'connected').length).toBeGreaterThanOrEqual(2)
      expect(seen.pendings.at(-1)).toBe(0)
      expect(Math.max(...seen.pendings)).toBeGreaterThan(0)
    }
    const cards = after.cards as Record<string, unknown>
    expect(cards.a1).toEqual({ title: 'Alice card', done: false })
    expect(cards.a2).toEqual({ title: 'written offline by alice' })
    expect(cards.b2).toEqual({ title: 'written offline by bob' })
    // the concurrent write survives the concurrent delete (add wins)
    expect(cards.b1).toEqual({ title: 'Bob card, edited offline', done: false })
    expect(after.votes).toBe((before.votes as number) + 10 - 5)
    expect(['red', 'blue']).toContain((after.meta as Record<string, unknown>).colour)
    expect((after.meta as Record<string, unknown>).owner).toBe('alice')
    expect(after.tags).toEqual(expect.arrayContaining(['shared', 'later', 'offline-a', 'offline-b', 'urgent']))
    expect(after.tags).toHaveLength(5)
    // the hub's copy (loaded from its data directory, then fed by the pages) has everything,
    // and the new hub has the pages' presence again (re-announced on resync) for newcomers
    const copy = await hubCopy(['alice', 'bob'])
    expect(copy.json).toEqual(after)
    expect(copy.peers).toEqual(['alice', 'bob'])
  })

  it('a reloaded page shows its data from IndexedDB before any connection', async () => {
    const expected = await converged()
    // make sure what alice received from bob is stored, then take the hub away
    await pages.alice.evaluate(async () => { await window.syncTest.s.persistence.flush() })
    await stopHub()
    try {
      await load(pages.alice, true)
      const r = await pages.alice.evaluate(async ({ url, room, dbName }) => {
        const { core, ws, idb } = window.syncTest
        const doc = new core.Doc()
        const persistence = new idb.IndexedDBPersistence(dbName, doc)
        const provider = new ws.WebSocketProvider(url, room, doc, { minBackoffMs: 100, maxBackoffMs: 800, connect: false })
        const statuses: string[] = []
        provider.on('status', s => statuses.push(s))
        provider.connect() // at once, as an app would: IndexedDB and the hub race
        await persistence.whenSynced
        const atLoad = { json: doc.toJSON(), status: provider.status, synced: provider.synced }
        // and it stays usable offline
        doc.map('cards').set('a3', { title: 'after reload, offline' })
        await new Promise(resolve => setTimeout(resolve, 300))
        const s: Session = window.syncTest.s = { doc, persistence, provider, statuses: [], pendings: [] }
        provider.on('status', st => s.statuses.push(st))
        provider.on('pending', n => s.pendings.push(n))
        return { atLoad, statuses, pending: provider.pending, status: provider.status }
      }, { url: hubUrl, room: ROOM, dbName: DB })
      expect(r.atLoad.json).toEqual(expected) // alice's edits and bob's, from IndexedDB alone
      expect(r.atLoad.status).not.toBe('connected')
      expect(r.atLoad.synced).toBe(false)
      expect(r.statuses[0]).toBe('connecting') // it tried
      expect(r.statuses).not.toContain('connected')
      expect(r.status).not.toBe('connected')
      expect(r.pending).toBeGreaterThan(0)
    } finally {
      await startHub()
    }
    // the reloaded page finds the hub again on its own, and bob gets the offline edit
    const json = await converged()
    expect((json.cards as Record<string, unknown>).a3).toEqual({ title: 'after reload, offline' })
  })

  it('awareness: bob sees alice, and drops her within seconds once her page closes (or crashes)', async () => {
    await converged()
    /** Resolves once bob's awareness has (or, with `present` false, no longer has) `id`, named `name`. */
    const bobSees = (id: number, name: string, present: boolean): Promise<void> =>
      pages.bob.evaluate(async ({ id, name, present }) => {
        const { s, waitFor } = window.syncTest
        const has = (): boolean => s.provider.awareness.getStates().get(id)?.name === name
        await waitFor(() => has() === present, `${name} (${id}) ${present ? 'in' : 'gone from'} bob's awareness`, 5000)
      }, { id, name, present })

    await pages.alice.evaluate(() => { window.syncTest.s.provider.awareness.setLocalState({ name: 'alice' }) })
    const alice = (await state(pages.alice)).clientID
    await bobSees(alice, 'alice', true)

    // carol's page dies without a chance to say goodbye (no pagehide): only the hub can tell bob
    contexts.carol = await newContext()
    const carolPage = await newPage(contexts.carol)
    const carol = await carolPage.evaluate(async ({ url, room }) => {
      const { s } = { s: await window.syncTest.open({ url, room }) }
      await s.provider.whenSynced
      s.provider.awareness.setLocalState({ name: 'carol' })
      return s.provider.awareness.clientID
    }, { url: hubUrl, room: ROOM })
    await bobSees(carol, 'carol', true)
    const bobId = (await state(pages.bob)).clientID
    const alicePeers = await pages.alice.evaluate(async (ids) => {
      const { s, waitFor } = window.syncTest
      await waitFor(() => ids.every(id => s.provider.awareness.getStates().has(id)), 'bob and carol in alice\'s awareness', 5000)
      return ids.map(id => s.provider.awareness.getStates().get(id)?.name)
    }, [bobId, carol])
    expect(alicePeers).toEqual(['bob', 'carol'])

    const crashed = new Promise<void>(resolve => carolPage.once('crash', () => resolve()))
    const cdp = await contexts.carol.newCDPSession(carolPage)
    // not awaited: the answer never comes, the session dies with the renderer
    cdp.send('Page.crash').catch(() => {})
    await crashed
    const t0 = Date.now()
    await bobSees(carol, 'carol', false)
    const carolGoneMs = Date.now() - t0

    await pages.alice.close() // no destroy(), no disconnect()
    const t1 = Date.now()
    await bobSees(alice, 'alice', false)
    const aliceGoneMs = Date.now() - t1
    console.log(`awareness: a crashed page left bob's states after ${carolGoneMs} ms, a closed one after ${aliceGoneMs} ms`)
    await expect.poll(() => hub!.metrics().connections, { timeout: 5000 }).toBe(1) // bob's socket only
  })
})

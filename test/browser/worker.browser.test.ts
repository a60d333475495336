/**
 * The worker adapter in real Chromium: pages of one context share a doc
 * hosted by a module `SharedWorker` (`exposeDoc`, IndexedDB + WebSocket to
 * a hub running in this process), through `connectWorkerDoc`; the data is
 * in IndexedDB after both pages reload, and a Node client of the hub sees
 * the pages' edits. Without SharedWorker (mode 'leader-tab') a tab elected
 * with Web Locks runs the storage and the socket, and hands over when it
 * closes; the WebRTC bridge's lock hands over the same way (a stand-in
 * WebRTC module records which tab runs it).
 *
 * Tests only talk to 127.0.0.1. Needs `/usr/bin/chromium`
 * (`apt-get update && apt-get install -y chromium`, as root).
 * `AEGIS_SKIP_BROWSER=1` skips it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { Doc, silentLogger } from 'aegis-replication'
import { createHub, type Hub } from 'aegis-replication/hub'
import { WebSocketProvider } from 'aegis-replication/websocket'
import type * as Aegis from '../../src/index.js'
import type * as AegisWorker from '../../adapters/worker/index.js'
import type * as AegisIdb from '../../adapters/indexeddb/index.js'
import { bundleForPage, closeServer, launchChromium, loopbackContext, serve } from './harness.js'

interface PageState {
  synced: boolean
  json: Record<string, unknown>
  mode: AegisWorker.WorkerDocMode
  storageLeader: boolean
  webrtcLeader: boolean
  /** Every `leader` event, as `role:bool`. */
  leaderEvents: string[]
  /** Names in the awareness states, sorted. */
  names: string[]
}

interface ConnectOptions {
  room: string
  hub: string
  mode?: AegisWorker.WorkerDocMode
  name?: string
  /** Use a stand-in WebRTC module that records which tab runs it. */
  fakeWebRTC?: boolean
}

declare global {
  interface Window {
    workerTest: {
      core: typeof Aegis
      worker: typeof AegisWorker
      idb: typeof AegisIdb
      connect: (o: ConnectOptions) => Promise<PageState>
      state: () => PageState
      /** The stored doc of database `name`, read by a persistence of its own. */
      readStored: (name: string) => Promise<Record<string, unknown>>
      w: AegisWorker.WorkerDoc
      /** Stand-in WebRTC providers this page created, and how many it destroyed. */
      rtc: { created: number, destroyed: number }
    }
  }
}

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>loading</title>
<script type="module">
  import { core, worker, idb } from './bundle.js'
  const leaderEvents = []
  const rtc = { created: 0, destroyed: 0 }
  /** A stand-in for aegis-replication/webrtc: a "remote peer" writes into the doc it is given. */
  class FakeWebRTCProvider {
    constructor (room, doc, opts) {
      rtc.created++
      this.doc = doc
      doc.transact(() => doc.map('rtc').set('from-peer-' + rtc.created, opts.signaling[0]), 'fake-rtc-peer')
    }
    destroy () { rtc.destroyed++ }
  }
  const state = () => {
    const w = window.workerTest.w
    const names = [...w.awareness.getStates().values()].map(s => s.name).filter(n => typeof n === 'string').sort()
    return { synced: w.synced, json: w.doc.toJSON(), mode: w.mode, storageLeader: w.isStorageLeader, webrtcLeader: w.isWebRTCLeader, leaderEvents, names }
  }
  const connect = async ({ room, hub, mode, name, fakeWebRTC }) => {
    const w = worker.connectWorkerDoc('/worker.js?hub=' + encodeURIComponent(hub), room, {
      mode,
      fallback: { url: hub, persistenceName: r => 'fallback:' + r, websocketOptions: { minBackoffMs: 100, maxBackoffMs: 800 } },
      webrtc: fakeWebRTC ? { signaling: [hub], load: async () => ({ WebRTCProvider: FakeWebRTCProvider }) } : undefined
    })
    w.on('leader', (role, leader) => leaderEvents.push(role + ':' + leader))
    if (name !== undefined) w.awareness.setLocalStateField('name', name)
    window.workerTest.w = w
    await w.whenSynced
    return state()
  }
  const readStored = async (name) => {
    const doc = new core.Doc()
    const p = new idb.IndexedDBPersistence(name, doc)
    await p.whenSynced
    const json = doc.toJSON()
    await p.destroy()
    return json
  }
  window.workerTest = { core, worker, idb, connect, state, readStored, w: undefined, rtc }
  document.title = 'ready'
</script>
`

/** The SharedWorker script: the hub URL comes in the query (pages use one URL, so they share one worker). */
const WORKER = `
import { worker } from './bundle.js'
const hub = new URL(self.location.href).searchParams.get('hub')
worker.exposeDoc({ url: hub, idleMs: 200, websocketOptions: { minBackoffMs: 100, maxBackoffMs: 800 } })
`

describe.skipIf(process.env.AEGIS_SKIP_BROWSER === '1')('a doc shared by the tabs of a browser through a worker, in Chromium', () => {
  let dir: string | undefined
  let server: Server | undefined
  let browser: Browser | undefined
  let hub: Hub | undefined
  let context: BrowserContext
  let origin: string
  let pageErrors: string[] = []

  const load = async (p: Page, reload = false): Promise<void> => {
    if (reload) await p.reload()
    else await p.goto(`${origin}/`)
    await p.waitForFunction(() => document.title === 'ready', undefined, { timeout: 10_000 })
      .catch((err: unknown) => { throw new Error(`the test page did not load the bundle: ${pageErrors.join('; ') || String(err)}`) })
  }
  const newPage = async (): Promise<Page> => {
    const p = await context.newPage()
    p.on('pageerror', e => pageErrors.push(e.message))
    await load(p)
    return p
  }
  const state = (p: Page): Promise<PageState> => p.evaluate(() => window.workerTest.state())
  const connect = (p: Page, o: Omit<ConnectOptions, 'hub'>): Promise<PageState> =>
    p.evaluate(o => window.workerTest.connect(o), { ...o, hub: hub!.url })

  /** The room as the hub has it, read by a Node client; waits until `pred` holds. */
  const hubCopy = async (room: string, pred: (json: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
    const doc = new Doc()
    const provider = new WebSocketProvider(hub!.url, room, doc, { WebSocket })
    try {
      await provider.whenSynced
      await expect.poll(() => pred(doc.toJSON()) ? true : doc.toJSON(), { timeout: 10_000 }).toBe(true)
      return doc.toJSON()
    } finally {
      provider.destroy()
    }
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aegis-worker-browser-'))
    await bundleForPage(
      { core: 'aegis-replication', worker: 'aegis-replication/worker', idb: 'aegis-replication/indexeddb' },
      join(dir, 'bundle.js'),
      { external: ['aegis-replication/webrtc'] } // the WebRTC adapter is loaded only when asked for; these tests pass a stand-in
    )
    await writeFile(join(dir, 'index.html'), PAGE)
    await writeFile(join(dir, 'worker.js'), WORKER)
    const served = await serve({
      '/': { path: join(dir, 'index.html'), type: 'text/html; charset=utf-8' },
      '/bundle.js': { path: join(dir, 'bundle.js'), type: 'text/javascript; charset=utf-8' },
      '/worker.js': { path: join(dir, 'worker.js'), type: 'text/javascript; charset=utf-8' }
    })
    server = served.server
    origin = served.origin
    hub = await createHub({ port: 0, host: '127.0.0.1', dataDir: join(dir, 'hub-data'), logger: silentLogger, id: 'n1' })
    browser = await launchChromium()
    context = await loopbackContext(browser)
  })

  afterEach(() => {
    const seen = pageErrors
    pageErrors = []
    expect(seen, 'uncaught errors in the pages').toEqual([])
  })

  afterAll(async () => {
    await browser?.close()
    await hub?.close()
    if (server !== undefined) await closeServer(server)
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('two pages share one SharedWorker-hosted doc; the worker stores it in IndexedDB and syncs it with the hub', async () => {
    const room = 'shared-1'
    const a = await newPage()
    const b = await newPage()
    const [sa, sb] = await Promise.all([connect(a, { room, name: 'a' }), connect(b, { room, name: 'b' })])
    expect(sa).toMatchObject({ mode: 'shared-worker', synced: true, json: {} })
    expect(sb).toMatchObject({ mode: 'shared-worker', synced: true, json: {} })

    await a.evaluate(() => {
      const { doc } = window.workerTest.w
      doc.map('cards').set('a1', { title: 'from a' })
      doc.counter('votes').increment(2)
    })
    await expect.poll(async () => (await state(b)).json, { timeout: 10_000 }).toEqual({ cards: { a1: { title: 'from a' } }, votes: 2 })
    await b.evaluate(() => { window.workerTest.w.doc.set('tags').add('from-b') })
    const expected = { cards: { a1: { title: 'from a' } }, votes: 2, tags: ['from-b'] }
    await expect.poll(async () => (await state(a)).json, { timeout: 10_000 }).toEqual(expected)
    // presence goes through the worker
    await expect.poll(async () => [(await state(a)).names, (await state(b)).names]).toEqual([['a', 'b'], ['a', 'b']])

    // one worker, one socket: it reports both pages and the hub connection
    const status = await a.evaluate(() => window.workerTest.w.status())
    expect(status).toMatchObject({ pages: 2, json: expected })
    await expect.poll(async () => (await a.evaluate(() => window.workerTest.w.status())).synced, { timeout: 10_000 }).toBe(true)
    // a Node client of the hub sees the pages' edits
    expect(await hubCopy(room, j => isDeepStrictEqual(j, expected))).toEqual(expected)
    // the hubs' Raft KV through the worker's socket: of two pages racing for a name, one wins
    const claim = (p: Page, who: string): Promise<boolean> =>
      p.evaluate(w => window.workerTest.w.kv.cas('name/board', null, new TextEncoder().encode(w)), who)
    const won = await Promise.all([claim(a, 'a'), claim(b, 'b')])
    expect(won.filter(Boolean)).toHaveLength(1)

    // stored by the worker: flush, reload both pages, read IndexedDB directly and through a new connection
    await a.evaluate(() => window.workerTest.w.flush())
    await b.evaluate(() => window.workerTest.w.flush())
    await load(a, true)
    await load(b, true)
    expect(await a.evaluate(name => window.workerTest.readStored(name), `aegis:${room}`)).toEqual(expected)
    const [ra, rb] = await Promise.all([connect(a, { room }), connect(b, { room })])
    expect(ra.json).toEqual(expected)
    expect(rb.json).toEqual(expected)
    await a.close()
    await b.close()
  })

  it('a dedicated module Worker (mode \'worker\') hosts the doc the same way', async () => {
    const room = 'dedicated-1'
    const g = await newPage()
    expect(await connect(g, { room, mode: 'worker' })).toMatchObject({ mode: 'worker', synced: true, json: {} })
    await g.evaluate(() => { window.workerTest.w.doc.map('m').set('k', 'in a worker') })
    await g.evaluate(() => window.workerTest.w.flush())
    expect(await g.evaluate(name => window.workerTest.readStored(name), `aegis:${room}`)).toEqual({ m: { k: 'in a worker' } })
    await hubCopy(room, j => isDeepStrictEqual(j, { m: { k: 'in a worker' } }))
    await g.close()
  })

  it('without SharedWorker: the leader tab runs storage and the socket; closing it hands leadership to the other tab', async () => {
    const room = 'fallback-1'
    const c = await newPage()
    const sc = await connect(c, { room, mode: 'leader-tab' })
    expect(sc).toMatchObject({ mode: 'leader-tab', synced: true, storageLeader: true, leaderEvents: ['storage:true'] })
    const d = await newPage()
    const sd = await connect(d, { room, mode: 'leader-tab' })
    expect(sd).toMatchObject({ mode: 'leader-tab', synced: true, storageLeader: false, leaderEvents: [] })

    // d's edit reaches the hub through c (BroadcastChannel, then c's socket)
    await d.evaluate(() => { window.workerTest.w.doc.map('m').set('d', 1) })
    await hubCopy(room, j => isDeepStrictEqual(j, { m: { d: 1 } }))
    expect(await c.evaluate(() => window.workerTest.w.status())).toMatchObject({ status: 'connected' })

    await c.close()
    // the Web Lock passes to d, which starts its own persistence and socket
    await expect.poll(async () => (await state(d)).storageLeader, { timeout: 10_000 }).toBe(true)
    expect((await state(d)).leaderEvents).toEqual(['storage:true'])
    await d.evaluate(() => { window.workerTest.w.doc.map('m').set('after-handover', 2) })
    await hubCopy(room, j => isDeepStrictEqual(j, { m: { d: 1, 'after-handover': 2 } }))
    await d.evaluate(() => window.workerTest.w.flush())
    expect(await d.evaluate(name => window.workerTest.readStored(name), `fallback:${room}`)).toEqual({ m: { d: 1, 'after-handover': 2 } })
    await d.close()
  })

  it('the WebRTC bridge runs in one elected tab, reaches the other tabs through the worker, and moves when that tab closes', async () => {
    const room = 'rtc-1'
    const e = await newPage()
    const se = await connect(e, { room, fakeWebRTC: true })
    await expect.poll(async () => (await state(e)).webrtcLeader).toBe(true)
    expect(se.mode).toBe('shared-worker')
    const f = await newPage()
    await connect(f, { room, fakeWebRTC: true })
    // what the leader's "peer" wrote reached f through the worker
    await expect.poll(async () => (await state(f)).json, { timeout: 10_000 }).toEqual({ rtc: { 'from-peer-1': hub!.url } })
    expect((await state(f)).webrtcLeader).toBe(false)
    expect(await f.evaluate(() => window.workerTest.rtc.created)).toBe(0)

    await e.close()
    await expect.poll(async () => (await state(f)).webrtcLeader, { timeout: 10_000 }).toBe(true)
    expect((await state(f)).leaderEvents).toEqual(['webrtc:true'])
    expect(await f.evaluate(() => window.workerTest.rtc.created)).toBe(1)
    // f resigns on destroy: the provider stops
    await f.evaluate(() => window.workerTest.w.destroy())
    expect(await f.evaluate(() => window.workerTest.rtc)).toEqual({ created: 1, destroyed: 1 })
    expect((await state(f)).leaderEvents).toEqual(['webrtc:true', 'webrtc:false'])
    await f.close()
  })
})

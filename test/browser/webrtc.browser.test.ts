/**
 * Two users in real Chromium, each in a browser context of its own, sync a
 * room peer-to-peer over WebRTC data channels (`WebRTCProvider`), finding
 * each other through a hub that runs in the test process. The hub really
 * goes away (`hub.close()` closes every socket and the port) and edits keep
 * flowing over the channels; a 5 MB update crosses a channel whose messages
 * are capped at 256 KiB by Chromium (so only chunking gets it there); peers
 * with different room passwords never connect.
 *
 * Loopback WebRTC in Chromium needs three things (see WEBRTC_LOOPBACK_ARGS
 * in harness.ts): `--allow-loopback-in-peer-connection`, the feature
 * `WebRtcHideLocalIpsWithMdns` disabled (otherwise host candidates are
 * `*.local` mDNS names nobody resolves here; Chromium keeps only the last
 * `--disable-features=`, so Playwright's whole list is repeated), and
 * contexts created with `permissions: ['camera', 'microphone']` (without a
 * media permission Chromium filters the loopback candidates out). No STUN
 * or TURN server: `iceServers: []`, host candidates 127.0.0.1 ↔ 127.0.0.1.
 *
 * Tests only talk to 127.0.0.1. Needs `/usr/bin/chromium`;
 * `AEGIS_SKIP_BROWSER=1` skips it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from 'aegis-replication'
import { createHub, type Hub } from 'aegis-replication/hub'
import type * as Aegis from '../../src/index.js'
import type * as AegisRtc from '../../adapters/webrtc/index.js'
import { closeServer, launchChromium, loopbackContext, sdpAsEsm, servePage, WEBRTC_LOOPBACK_ARGS } from './harness.js'

interface Session {
  doc: Aegis.Doc
  provider: AegisRtc.WebRTCProvider
  /** Warnings and errors the provider logged. */
  logs: string[]
}

interface PeerState {
  peerId: string
  status: string
  peers: string[]
  synced: boolean
  json: Record<string, unknown>
  /** Names in the other clients' awareness states, sorted. */
  names: string[]
  logs: string[]
}

declare global {
  interface Window {
    rtcTest: {
      core: typeof Aegis
      rtc: typeof AegisRtc
      open: (o: { url: string, room: string, password?: string, name: string }) => Session
      state: () => PeerState
      /** A deterministic pseudo-random string of `n` characters and its checksum. */
      blob: (n: number, seed: number) => { text: string, sum: number }
      checksum: (text: string) => number
      s: Session | undefined
    }
  }
}

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>loading</title>
<script type="module">
  import { core, rtc } from './bundle.js'
  const open = ({ url, room, password, name }) => {
    window.rtcTest.s?.provider.destroy()
    const logs = []
    const log = (level) => (msg, fields) => logs.push(level + ': ' + msg + ' ' + JSON.stringify(fields ?? {}))
    const logger = { debug () {}, info () {}, warn: log('warn'), error: log('error') }
    const doc = new core.Doc()
    // no STUN/TURN: host candidates on loopback only; short backoff for the tests
    const provider = new rtc.WebRTCProvider(room, doc, { signaling: [url], iceServers: [], password, logger, minBackoffMs: 100, maxBackoffMs: 1000 })
    provider.awareness.setLocalStateField('name', name)
    window.rtcTest.s = { doc, provider, logs }
    return window.rtcTest.s
  }
  const state = () => {
    const { doc, provider, logs } = window.rtcTest.s
    const names = []
    for (const [id, st] of provider.awareness.getStates()) if (id !== provider.awareness.clientID && typeof st.name === 'string') names.push(st.name)
    return { peerId: provider.peerId, status: provider.status, peers: provider.peers, synced: provider.synced, json: doc.toJSON(), names: names.sort(), logs: [...logs] }
  }
  const checksum = (text) => {
    let h = 0
    for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0
    return h
  }
  const blob = (n, seed) => {
    let x = seed >>> 0
    const parts = []
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0
      parts.push(String.fromCharCode(33 + (x >>> 25)))
    }
    const text = parts.join('')
    return { text, sum: checksum(text) }
  }
  window.rtcTest = { core, rtc, open, state, blob, checksum, s: undefined }
  document.title = 'ready'
</script>
`

describe.skipIf(process.env.AEGIS_SKIP_BROWSER === '1')('WebRTC mesh between two browser contexts, in Chromium', () => {
  let dir: string | undefined
  let server: Server | undefined
  let browser: Browser | undefined
  let origin: string
  let hub: Hub | undefined
  let hubUrl: string
  const contexts: BrowserContext[] = []
  let pageErrors: string[] = []

  const startHub = async (): Promise<Hub> => {
    hub = await createHub({ port: 0, host: '127.0.0.1', dataDir: join(dir!, `hub-${Date.now()}`), logger: silentLogger })
    hubUrl = hub.url
    return hub
  }

  /** A context of its own (separate storage), allowed loopback ICE candidates, and a page in it. */
  const newPeer = async (): Promise<Page> => {
    const context = await loopbackContext(browser!, { permissions: ['camera', 'microphone'] })
    contexts.push(context)
    const page = await context.newPage()
    page.on('pageerror', e => pageErrors.push(e.message))
    await page.goto(`${origin}/`)
    await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 10_000 })
    return page
  }

  const open = async (page: Page, o: { room: string, password?: string, name: string }): Promise<void> => {
    await page.evaluate(o => { window.rtcTest.open(o) }, { ...o, url: hubUrl })
  }

  const state = (page: Page): Promise<PeerState> => page.evaluate(() => window.rtcTest.state())

  /** Polls until `pred` holds for the pages' states. */
  const until = async (pages: Page[], pred: (s: PeerState[]) => boolean, what: string, timeout = 30_000): Promise<PeerState[]> => {
    let last: PeerState[] = []
    const deadline = Date.now() + timeout
    while (Date.now() < deadline) {
      last = await Promise.all(pages.map(state))
      if (pred(last)) return last
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last.map(s => ({ ...s, json: JSON.stringify(s.json).slice(0, 200) })))}`)
  }

  const sameDoc = (s: PeerState[]): boolean => s.every(x => JSON.stringify(x.json) === JSON.stringify(s[0].json))

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aegis-webrtc-browser-'))
    // webrtc-adapter is imported lazily: inline that import into the one page bundle
    const served = await servePage(dir, PAGE, { core: 'aegis-replication', rtc: 'aegis-replication/webrtc' }, { inlineDynamicImports: true, plugins: [sdpAsEsm()] })
    server = served.server
    origin = served.origin
    browser = await launchChromium(WEBRTC_LOOPBACK_ARGS)
  })

  afterEach(() => {
    const seen = pageErrors
    pageErrors = []
    expect(seen, 'uncaught errors in the pages').toEqual([])
  })

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {})
    await browser?.close()
    await hub?.close()
    if (server !== undefined) await closeServer(server)
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  describe('through one hub that then goes away', () => {
    let alice: Page
    let bob: Page

    it('two contexts find each other through the hub, open a data channel and sync', async () => {
      await startHub()
      alice = await newPeer()
      bob = await newPeer()
      await open(alice, { room: 'board-1', name: 'alice' })
      await alice.evaluate(() => { window.rtcTest.s!.doc.map('notes').set('before', 'alice wrote this before bob came') })
      await open(bob, { room: 'board-1', name: 'bob' })
      const [a, b] = await until([alice, bob], ([a, b]) => a.peers.length === 1 && b.peers.length === 1 && a.synced && b.synced && sameDoc([a, b]) && a.names.length === 1 && b.names.length === 1, 'a data channel and a first sync')
      expect(a.peers).toEqual([b.peerId])
      expect(b.peers).toEqual([a.peerId])
      expect(a.status).toBe('connected')
      expect(b.json).toEqual({ notes: { before: 'alice wrote this before bob came' } })
      expect([a.names, b.names]).toEqual([['bob'], ['alice']])
      await bob.evaluate(() => { window.rtcTest.s!.doc.counter('votes').increment(3) })
      await until([alice, bob], s => sameDoc(s) && (s[0].json as { votes?: number }).votes === 3, 'bob\'s edit at alice')
    })

    it('the hub is stopped; edits still flow both ways over the channel', async () => {
      await hub!.close()
      hub = undefined
      // both pages see the hub go (their sockets closed), the channel stays
      const [a0, b0] = await until([alice, bob], s => s.every(x => x.status !== 'connected'), 'the signaling sockets to close')
      expect(a0.peers).toEqual([b0.peerId])
      await alice.evaluate(() => { window.rtcTest.s!.doc.map('notes').set('offline-hub-a', 'from alice, no hub') })
      await bob.evaluate(() => {
        const { doc } = window.rtcTest.s!
        doc.map('notes').set('offline-hub-b', 'from bob, no hub')
        doc.counter('votes').decrement(1)
      })
      const [a, b] = await until([alice, bob], s => sameDoc(s) && Object.keys((s[0].json as { notes: object }).notes).length === 3 && (s[0].json as { votes: number }).votes === 2, 'edits both ways without the hub')
      expect(a.json).toEqual({
        notes: { before: 'alice wrote this before bob came', 'offline-hub-a': 'from alice, no hub', 'offline-hub-b': 'from bob, no hub' },
        votes: 2
      })
      expect(b.status).not.toBe('connected')
    })

    it('a 5 MB update crosses the channel intact (chunked under the message limit)', async () => {
      const sent = await alice.evaluate(() => {
        const { doc } = window.rtcTest.s!
        const { text, sum } = window.rtcTest.blob(5 * 1024 * 1024, 42)
        let bytes = 0
        const count = (u: Uint8Array): void => { bytes = u.length }
        doc.on('update', count)
        doc.map('files').set('big', text)
        doc.off('update', count)
        return { sum, length: text.length, updateBytes: bytes }
      })
      expect(sent.updateBytes).toBeGreaterThan(5 * 1024 * 1024)
      await until([bob], ([b]) => typeof (b.json as { files?: { big?: string } }).files?.big === 'string', 'the 5 MB value at bob', 60_000)
      const got = await bob.evaluate(() => {
        const big = (window.rtcTest.s!.doc.toJSON() as { files: { big: string } }).files.big
        return { sum: window.rtcTest.checksum(big), length: big.length }
      })
      expect(got).toEqual({ sum: sent.sum, length: sent.length })
      // the link survived it: a small edit still goes through
      await bob.evaluate(() => { window.rtcTest.s!.doc.map('notes').set('after-big', 'ok') })
      await until([alice], ([a]) => (a.json as { notes: Record<string, string> }).notes['after-big'] === 'ok', 'an edit after the big one')
      const [a, b] = await Promise.all([state(alice), state(bob)])
      expect(a.peers).toEqual([b.peerId])
      expect(a.logs.filter(l => l.startsWith('error'))).toEqual([])
      expect(b.logs.filter(l => l.startsWith('error'))).toEqual([])
    })

    afterAll(async () => {
      await Promise.all([alice, bob].map(p => p?.evaluate(() => window.rtcTest.s?.provider.destroy())))
    })
  })

  it('with the wrong room password peers never connect; with the right one they do', async () => {
    await startHub()
    const [alice, mallory, bob] = await Promise.all([newPeer(), newPeer(), newPeer()])
    await open(alice, { room: 'secret-room', password: 'correct horse', name: 'alice' })
    await open(mallory, { room: 'secret-room', password: 'wrong horse', name: 'mallory' })
    await alice.evaluate(() => { window.rtcTest.s!.doc.map('secrets').set('plan', 'only for the right password') })
    // mallory came second: alice got mallory's announcement, could not open it, and so never answered
    const [a0, m0] = await until([alice, mallory], ([a, m]) => m.status === 'connected' && a.logs.some(l => l.includes('another room password') && l.includes(m.peerId)), 'alice to log an undecryptable signal from mallory')
    expect(a0.peers).toEqual([])
    expect(m0.peers).toEqual([])
    expect(m0.json).toEqual({})
    await open(bob, { room: 'secret-room', password: 'correct horse', name: 'bob' })
    const [a, b] = await until([alice, bob], ([a, b]) => a.peers.length === 1 && b.peers.length === 1 && sameDoc([a, b]) && b.synced, 'the right password to connect')
    expect(a.peers).toEqual([b.peerId])
    expect(b.json).toEqual({ secrets: { plan: 'only for the right password' } })
    // mallory, in the same room on the same hub all along, still has nothing
    const m = await state(mallory)
    expect(m.peers).toEqual([])
    expect(m.json).toEqual({})
    const a2 = await state(alice)
    expect(a2.logs.filter(l => l.includes('another room password'))).toHaveLength(1) // logged once per peer
    await Promise.all([alice, mallory, bob].map(p => p.evaluate(() => window.rtcTest.s?.provider.destroy())))
  })
})

/**
 * The README's browser examples (`examples/browser/*.ts`), run as written
 * in real Chromium. Each is bundled on its own (`bundleScript`) and served
 * by a hub through createHub's `http` option, as `npm start` serves the
 * demo, so the examples find their hub at `location.origin`:
 *
 * - `webrtc.ts` in two browser contexts: the peers meet through the hub,
 *   open a data channel, exchange their notes, and keep syncing after the
 *   hub is closed (socket and port gone).
 * - `worker-page.ts` in two pages of one context, with `sync-worker.ts` as
 *   their SharedWorker: each page sees the other's edit, the worker holds
 *   one hub connection for both, and the hub has both edits.
 *
 * The `import type`s below put the examples in `tsc -p tsconfig.test.json`
 * (the bundles are not type-checked).
 * Tests only talk to 127.0.0.1. Needs `/usr/bin/chromium`;
 * `AEGIS_SKIP_BROWSER=1` skips it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { Doc, silentLogger } from 'aegis-replication'
import { createHub, type Hub } from 'aegis-replication/hub'
import { WebSocketProvider } from 'aegis-replication/websocket'
import type * as WebRTCExample from '../../examples/browser/webrtc.js'
import type * as WorkerPageExample from '../../examples/browser/worker-page.js'
import type {} from '../../examples/browser/sync-worker.js'
import { bundleScript, fileRoutes, launchChromium, loopbackContext, sdpAsEsm, WEBRTC_LOOPBACK_ARGS } from './harness.js'

declare global {
  interface Window {
    webrtcExample: typeof WebRTCExample
    workerExample: typeof WorkerPageExample
  }
}

const example = (name: string): string => fileURLToPath(new URL(`../../examples/browser/${name}`, import.meta.url))

/** A page that imports the example's bundle and hands its exports to the test. */
const page = (script: string, global: 'webrtcExample' | 'workerExample'): string => `<!doctype html>
<meta charset="utf-8">
<title>loading</title>
<script type="module">
  import * as example from './${script}'
  window.${global} = example
  document.title = 'ready'
</script>
`

const JS = 'text/javascript; charset=utf-8'
const HTML = 'text/html; charset=utf-8'

/** Polls `read` until `pred` holds for what it returns. */
const until = async <T>(read: () => Promise<T>, pred: (x: T) => boolean, what: string, timeout = 30_000): Promise<T> => {
  let last: T | undefined
  const deadline = Date.now() + timeout
  while (Date.now() < deadline) {
    last = await read()
    if (pred(last)) return last
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`)
}

describe.skipIf(process.env.AEGIS_SKIP_BROWSER === '1')('the README\'s browser examples, in Chromium', () => {
  let dir: string
  let browser: Browser | undefined
  const hubs: Hub[] = []
  const contexts: BrowserContext[] = []
  let pageErrors: string[] = []

  /** A hub that serves `files` on its own port, as `npm start` serves the demo; returns its http origin. */
  const startHub = async (name: string, files: Parameters<typeof fileRoutes>[0]): Promise<{ hub: Hub, origin: string }> => {
    const hub = await createHub({ port: 0, host: '127.0.0.1', dataDir: join(dir, name), logger: silentLogger, http: fileRoutes(files) })
    hubs.push(hub)
    return { hub, origin: hub.url.replace(/^ws/, 'http') }
  }

  const newContext = async (options: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> => {
    const context = await loopbackContext(browser!, options)
    contexts.push(context)
    return context
  }

  const open = async (context: BrowserContext, url: string): Promise<Page> => {
    const p = await context.newPage()
    p.on('pageerror', e => pageErrors.push(e.message))
    await p.goto(url)
    await p.waitForFunction(() => document.title === 'ready', undefined, { timeout: 30_000 })
      .catch((err: unknown) => { throw new Error(`the example did not run: ${pageErrors.join('; ') || String(err)}`) })
    return p
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aegis-examples-browser-'))
    await Promise.all([
      // webrtc-adapter is imported lazily: inline that import into the page's bundle
      bundleScript(example('webrtc.ts'), join(dir, 'webrtc.js'), { inlineDynamicImports: true, plugins: [sdpAsEsm()] }),
      // the worker adapter imports the WebRTC adapter only when asked for (these examples do not)
      bundleScript(example('worker-page.ts'), join(dir, 'worker-page.js'), { external: ['aegis-replication/webrtc'] }),
      bundleScript(example('sync-worker.ts'), join(dir, 'sync-worker.js'), { external: ['aegis-replication/webrtc'] }),
      writeFile(join(dir, 'webrtc.html'), page('webrtc.js', 'webrtcExample')),
      writeFile(join(dir, 'worker.html'), page('worker-page.js', 'workerExample'))
    ])
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
    for (const h of hubs) await h.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('webrtc.ts: two contexts sync peer-to-peer, and keep syncing once the hub is gone', async () => {
    const { hub, origin } = await startHub('hub-webrtc', {
      '/webrtc.html': { path: join(dir, 'webrtc.html'), type: HTML },
      '/webrtc.js': { path: join(dir, 'webrtc.js'), type: JS }
    })
    // loopback ICE candidates need a media permission (see WEBRTC_LOOPBACK_ARGS)
    const [a, b] = await Promise.all([1, 2].map(async () => await open(await newContext({ permissions: ['camera', 'microphone'] }), `${origin}/webrtc.html`)))
    const state = (p: Page) => p.evaluate(() => {
      const { doc, provider } = window.webrtcExample
      return { peerId: provider.peerId, peers: provider.peers, status: provider.status, notes: doc.map('notes').toJSON() }
    })
    const both = () => Promise.all([state(a), state(b)])

    const [sa, sb] = await until(both, ([x, y]) => x.peers.length === 1 && y.peers.length === 1 &&
      Object.keys(x.notes).length === 2 && Object.keys(y.notes).length === 2, 'a data channel and both notes')
    expect(sa.peers).toEqual([sb.peerId])
    expect(sb.peers).toEqual([sa.peerId])
    const notes = { [sa.peerId]: 'written before any peer connected', [sb.peerId]: 'written before any peer connected' }
    expect(sa.notes).toEqual(notes)
    expect(sb.notes).toEqual(notes)

    await hub.close()
    hubs.splice(hubs.indexOf(hub), 1)
    await until(both, ([x, y]) => x.status === 'disconnected' && y.status === 'disconnected', 'both pages to lose the hub')
    await a.evaluate(() => { window.webrtcExample.doc.map('notes').set('after-hub', 'sent over the data channel') })
    const [, after] = await until(both, ([, y]) => 'after-hub' in y.notes, 'the edit to cross without the hub')
    expect(after.notes).toEqual({ ...notes, 'after-hub': 'sent over the data channel' })
    expect(after.peers).toEqual([sa.peerId])
  })

  it('worker-page.ts + sync-worker.ts: two pages see each other\'s edit through one SharedWorker, which syncs with the hub', async () => {
    const { hub, origin } = await startHub('hub-worker', {
      '/worker.html': { path: join(dir, 'worker.html'), type: HTML },
      '/worker-page.js': { path: join(dir, 'worker-page.js'), type: JS },
      '/sync-worker.js': { path: join(dir, 'sync-worker.js'), type: JS }
    })
    const context = await newContext()
    const a = await open(context, `${origin}/worker.html`)
    const b = await open(context, `${origin}/worker.html`)
    const state = (p: Page) => p.evaluate(() => {
      const { shared } = window.workerExample
      return { mode: shared.mode, synced: shared.synced, tasks: shared.doc.map('tasks').toJSON() }
    })
    const both = () => Promise.all([state(a), state(b)])

    const [sa, sb] = await until(both, ([x, y]) => Object.keys(x.tasks).length === 2 && Object.keys(y.tasks).length === 2, 'each page to see the other\'s edit')
    expect(sa).toMatchObject({ mode: 'shared-worker', synced: true })
    expect(sb.tasks).toEqual(sa.tasks)
    for (const task of Object.values(sa.tasks)) expect(task).toEqual({ title: 'Added in one tab, seen in all' })

    // one worker for both pages, connected to the hub at the pages' origin
    const status = await until(() => a.evaluate(() => window.workerExample.shared.status()), s => s.status === 'connected' && s.synced && s.pending === 0, 'the worker to sync with the hub')
    expect(status.pages).toBe(2)
    const doc = new Doc()
    const client = new WebSocketProvider(hub.url, 'board-42', doc, { WebSocket })
    try {
      await client.whenSynced
      await until(async () => doc.map('tasks').toJSON(), t => Object.keys(t).length === 2, 'the hub to hold both edits')
      expect(doc.map('tasks').toJSON()).toEqual(sa.tasks)
    } finally {
      client.destroy()
    }
  })
})

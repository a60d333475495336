/**
 * The demo app (demo/, built by demo/build.mjs from the package's
 * sources) in real Chromium: two users in separate browser contexts on one
 * board served by a hub in this process, as `npm start` serves it.
 *
 * - adding, voting and tagging converge; presence shows the other user and
 *   the task they are editing;
 * - bob loses the hub for real (his socket goes through a 127.0.0.1 TCP
 *   proxy that is closed; `context.setOffline` would leave the WebSocket
 *   up), both edit, the proxy comes back and both boards match;
 * - with the hub stopped, the app opens from its service worker and shows
 *   the board from IndexedDB, and two tabs sync through the SharedWorker;
 * - Chromium finds it installable (manifest, icons, service worker);
 * - with the hub stopped, two users on WebRTC keep syncing;
 * - two users race to reserve one board name through the hub's Raft KV:
 *   exactly one wins, the other is told which board holds it;
 * - `node scripts/start.mjs --port 0 --data <tmp>` builds nothing (fresh),
 *   prints the URL, serves a working board, and exits 0 on SIGINT.
 *
 * Screenshots of each step go to test-results/demo/; with
 * AEGIS_UPDATE_SCREENSHOT=1 the two users side by side
 * (01-two-users.png) are also copied to demo/screenshot.png (the README's).
 * Tests only talk to 127.0.0.1.
 * `AEGIS_SKIP_BROWSER=1` skips it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from 'aegis-replication'
import { createHub, type Hub } from 'aegis-replication/hub'
import { ensureBuilt, root } from '../../demo/build.mjs'
import { demoHandler } from '../../demo/serve.mjs'
import { chromium } from 'playwright-core'
import { CHROMIUM, CHROMIUM_ARGS, launchChromium, loopbackContext, WEBRTC_LOOPBACK_ARGS } from './harness.js'

const SHOTS = join(root, 'test-results/demo')

/** What a user sees, read from the page's DOM. */
interface Seen {
  title: string
  link: string
  pending: number
  peers: string[]
  offlineReady: boolean
  tasks: Array<{ title: string, done: boolean, votes: number, tags: string[], editing: string[] }>
}

const seen = (p: Page): Promise<Seen> => p.evaluate(() => {
  const q = <T extends Element>(sel: string, el: ParentNode = document): T => {
    const found = el.querySelector<T>(sel)
    if (found === null) throw new Error(`no ${sel}`)
    return found
  }
  const texts = (sel: string, el: ParentNode = document): string[] => Array.from(el.querySelectorAll(sel), e => e.textContent ?? '')
  return {
    title: q<HTMLInputElement>('#board-title').value,
    link: q<HTMLElement>('#link').dataset.state ?? '',
    pending: Number(q<HTMLElement>('#pending').dataset.count),
    peers: texts('#peers .peer'),
    offlineReady: document.documentElement.dataset.offlineReady === 'true',
    tasks: Array.from(document.querySelectorAll<HTMLElement>('#tasks .task'), li => ({
      title: q<HTMLInputElement>('.title', li).value,
      done: q<HTMLInputElement>('input[type=checkbox]', li).checked,
      votes: Number(q('.count', li).textContent),
      tags: texts('.tag span', li),
      editing: texts('.editing', li)
    }))
  }
})

/** The board without what differs per user (presence, link state). */
const boardOf = (s: Seen): Pick<Seen, 'title' | 'tasks'> => ({ title: s.title, tasks: s.tasks.map(t => ({ ...t, editing: [] })) })

/**
 * A TCP proxy on 127.0.0.1 in front of `targetPort`: `cut()` closes it and
 * every connection through it (the browser sees its WebSocket close, as
 * when a network goes away); `restore()` listens on the same port again.
 */
const tcpProxy = async (targetPort: number): Promise<{ port: number, cut: () => Promise<void>, restore: () => Promise<void>, close: () => Promise<void> }> => {
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let port = 0
  const listen = async (): Promise<void> => {
    const s = createServer(client => {
      const upstream = new (client.constructor as typeof Socket)()
      sockets.add(client).add(upstream)
      const drop = (): void => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream) }
      client.on('error', drop).on('close', drop)
      upstream.on('error', drop).on('close', drop)
      upstream.connect(targetPort, '127.0.0.1', () => { client.pipe(upstream).pipe(client) })
    })
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(port, '127.0.0.1', () => resolve()) })
    port = (s.address() as { port: number }).port
    server = s
  }
  const cut = async (): Promise<void> => {
    const s = server
    server = undefined
    for (const sock of sockets) sock.destroy()
    sockets.clear()
    if (s !== undefined) await new Promise<void>(resolve => s.close(() => resolve()))
  }
  await listen()
  return { port, cut, restore: listen, close: cut }
}

describe.skipIf(process.env.AEGIS_SKIP_BROWSER === '1')('the demo app: two users on one board, in Chromium', () => {
  let dir: string | undefined
  let dataDir: string
  let hub: Hub | undefined
  let hubPort = 0
  let origin: string
  let browser: Browser | undefined
  let proxy: Awaited<ReturnType<typeof tcpProxy>> | undefined
  const contexts: Record<'alice' | 'bob', BrowserContext> = {} as never
  const pages: Record<'alice' | 'bob', Page> = {} as never
  let pageErrors: string[] = []
  let child: ChildProcess | undefined

  const startHub = async (): Promise<void> => {
    hub = await createHub({
      port: hubPort, host: '127.0.0.1', dataDir, logger: silentLogger, idleMs: 60_000,
      // a Raft group of one: the KV behind "reserve a unique board name" (as npm start runs it)
      id: 'n1',
      http: demoHandler(join(root, 'demo/dist'))
    })
    hubPort = hub.port
    origin = `http://127.0.0.1:${hub.port}`
  }
  const stopHub = async (): Promise<void> => {
    const h = hub
    hub = undefined
    await h?.close()
  }

  const newContext = async (): Promise<BrowserContext> => {
    // camera/microphone: without them Chromium filters out loopback ICE candidates (see harness)
    return await loopbackContext(browser!, { viewport: { width: 900, height: 760 }, permissions: ['camera', 'microphone'] })
  }

  const open = async (context: BrowserContext, url: string): Promise<Page> => {
    const p = await context.newPage()
    p.on('pageerror', e => pageErrors.push(e.message))
    await p.goto(url)
    await p.waitForFunction(() => document.documentElement.dataset.ready === 'true', undefined, { timeout: 15_000 })
    return p
  }

  const shot = async (p: Page, name: string): Promise<string> => {
    const file = join(SHOTS, `${name}.png`)
    await p.screenshot({ path: file, fullPage: true })
    return file
  }

  /** Puts screenshots side by side, with captions, into `test-results/demo/<name>.png`. */
  const sideBySide = async (shots: Array<[caption: string, file: string]>, name: string): Promise<string> => {
    const p = await contexts.alice.newPage()
    try {
      const figures = await Promise.all(shots.map(async ([caption, file]) =>
        `<figure><figcaption>${caption}</figcaption><img src="data:image/png;base64,${(await readFile(file)).toString('base64')}"></figure>`))
      await p.setViewportSize({ width: shots.length * 920 + 20, height: 600 })
      await p.setContent(`<style>body{margin:0;padding:16px 10px;display:flex;gap:20px;background:#dfe4ec;font:600 15px system-ui,sans-serif;color:#333}
        figure{margin:0}figcaption{margin:0 0 8px 4px}img{display:block;width:900px;border:1px solid #b8c0cc;border-radius:10px}</style>${figures.join('')}`)
      await p.evaluate(async () => { await Promise.all(Array.from(document.images, img => img.decode())) })
      return await shot(p, name)
    } finally {
      await p.close()
    }
  }

  /** The row of the task titled `title` (as the page shows it). */
  const task = async (p: Page, title: string): Promise<Locator> => {
    let id: string | undefined
    await expect.poll(async () => {
      id = await p.evaluate(t => Array.from(document.querySelectorAll<HTMLElement>('#tasks .task'))
        .find(li => li.querySelector<HTMLInputElement>('.title')?.value === t)?.dataset.id, title)
      return id
    }, { timeout: 10_000, message: `task "${title}" on the page` }).toBeDefined()
    return p.locator(`#tasks .task[data-id="${id!}"]`)
  }

  const addTask = async (p: Page, title: string): Promise<void> => {
    await p.locator('#new-task').fill(title)
    await p.locator('#add-task button[type=submit]').click()
    await task(p, title)
  }

  const tag = async (row: Locator, name: string): Promise<void> => {
    await row.locator('.tag-form input').fill(name)
    await row.locator('.tag-form input').press('Enter')
  }

  /** Waits until both pages are online with nothing pending and show the same board; returns it. */
  const converged = async (): Promise<Pick<Seen, 'title' | 'tasks'>> => {
    let last: Seen[] = []
    const deadline = Date.now() + 20_000
    while (Date.now() < deadline) {
      last = [await seen(pages.alice), await seen(pages.bob)]
      const [a, b] = last
      if (a.link === 'online' && b.link === 'online' && a.pending === 0 && b.pending === 0 &&
        JSON.stringify(boardOf(a)) === JSON.stringify(boardOf(b))) return boardOf(a)
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    throw new Error(`the boards did not converge: ${JSON.stringify(last)}`)
  }

  const setName = async (p: Page, name: string): Promise<void> => {
    await p.locator('#my-name').fill(name)
    await p.locator('#my-name').press('Tab')
  }

  beforeAll(async () => {
    // this run's screenshots only
    await rm(SHOTS, { recursive: true, force: true })
    await mkdir(SHOTS, { recursive: true })
    // what `npm start` builds: the hub (.aegis-build/) and the demo (demo/dist/), when stale
    await ensureBuilt({ out: { write: () => true } as unknown as NodeJS.WritableStream })
    dir = await mkdtemp(join(tmpdir(), 'aegis-demo-browser-'))
    dataDir = join(dir, 'hub-data')
    await startHub()
    proxy = await tcpProxy(hubPort)
    browser = await launchChromium(WEBRTC_LOOPBACK_ARGS)
    contexts.alice = await newContext()
    contexts.bob = await newContext()
    // the default set-up (a SharedWorker per browser owns IndexedDB and the socket), hub only:
    // WebRTC has a test of its own below
    pages.alice = await open(contexts.alice, `${origin}/?webrtc=0`)
    // bob reaches the hub through the proxy, so his link can be cut alone
    pages.bob = await open(contexts.bob, `${origin}/?webrtc=0&hub=ws://127.0.0.1:${proxy.port}`)
    expect(await pages.alice.evaluate(() => document.documentElement.dataset.via)).toBe('worker')
  }, 300_000)

  afterEach(() => {
    const errors = pageErrors
    pageErrors = []
    expect(errors, 'uncaught errors in the pages').toEqual([])
  })

  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL')
    await browser?.close()
    await proxy?.close()
    await stopHub()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('two users: adding, voting, tagging and the title converge; each sees the other and what they edit', async () => {
    await setName(pages.alice, 'Alice')
    await setName(pages.bob, 'Bob')
    await expect.poll(async () => (await seen(pages.alice)).peers, { timeout: 10_000 }).toEqual(['Bob'])
    await expect.poll(async () => (await seen(pages.bob)).peers, { timeout: 10_000 }).toEqual(['Alice'])

    await pages.alice.locator('#board-title').fill('Launch plan')
    await pages.alice.locator('#board-title').press('Enter')
    await addTask(pages.alice, 'Write the announcement')
    await addTask(pages.bob, 'Book the venue')
    await addTask(pages.alice, 'Order snacks')

    const announcementA = await task(pages.alice, 'Write the announcement')
    const announcementB = await task(pages.bob, 'Write the announcement')
    const venueA = await task(pages.alice, 'Book the venue')
    // both vote at once on the same task: a counter, so every vote counts
    await Promise.all([
      announcementA.locator('.vote').click(),
      announcementB.locator('.vote').click(),
      announcementB.locator('.vote').click()
    ])
    await venueA.locator('.vote').click()
    await tag(announcementA, 'writing')
    await tag(announcementB, 'urgent')
    await (await task(pages.bob, 'Order snacks')).locator('input[type=checkbox]').check()

    const board = await converged()
    expect(board).toEqual({
      title: 'Launch plan',
      tasks: [
        { title: 'Write the announcement', done: false, votes: 3, tags: ['urgent', 'writing'], editing: [] },
        { title: 'Book the venue', done: false, votes: 1, tags: [], editing: [] },
        { title: 'Order snacks', done: true, votes: 0, tags: [], editing: [] }
      ]
    })

    // bob edits a title: alice sees who edits which task
    await (await task(pages.bob, 'Book the venue')).locator('.title').focus()
    await expect.poll(async () => (await seen(pages.alice)).tasks.map(t => t.editing), { timeout: 10_000 })
      .toEqual([[], ['Bob is editing'], []])
    const both = await sideBySide([
      ['Alice: sees Bob, and which task he is editing', await shot(pages.alice, '01-two-users-alice')],
      ['Bob: the same board, in another browser context', await shot(pages.bob, '01-two-users-bob')]
    ], '01-two-users')
    if (process.env.AEGIS_UPDATE_SCREENSHOT === '1') await copyFile(both, join(root, 'demo/screenshot.png'))
    await pages.bob.locator('#new-task').focus()
    await expect.poll(async () => (await seen(pages.alice)).tasks.flatMap(t => t.editing), { timeout: 10_000 }).toEqual([])
  })

  it('bob loses the hub, both edit, the link comes back and both boards match', async () => {
    const before = await converged()
    await proxy!.cut()
    await expect.poll(async () => (await seen(pages.bob)).link, { timeout: 10_000 }).toBe('offline')
    expect((await seen(pages.alice)).link).toBe('online')

    // bob, offline: a new task, a vote, a tag, a tick, a rename
    await addTask(pages.bob, 'Print the flyers')
    const announcementB = await task(pages.bob, 'Write the announcement')
    await announcementB.locator('.vote').click()
    await tag(announcementB, 'offline')
    await (await task(pages.bob, 'Book the venue')).locator('input[type=checkbox]').check()
    const snacksB = await task(pages.bob, 'Order snacks')
    await snacksB.locator('.title').fill('Order snacks and drinks')
    await snacksB.locator('.title').press('Enter')
    // alice, online at the same time: edits of her own and one on the same task
    await addTask(pages.alice, 'Send the invites')
    const announcementA = await task(pages.alice, 'Write the announcement')
    await announcementA.locator('.vote').click()
    await announcementA.locator('.tag button[aria-label="Remove tag urgent"]').click()

    // bob's page says it is offline and counts what the hub has not got
    await expect.poll(async () => (await seen(pages.bob)).pending, { timeout: 10_000 }).toBeGreaterThan(0)
    const offline = await seen(pages.bob)
    expect(offline.link).toBe('offline')
    expect(offline.tasks.map(t => t.title)).toContain('Print the flyers')
    expect((await seen(pages.alice)).tasks.map(t => t.title)).not.toContain('Print the flyers')
    await shot(pages.bob, '02-bob-offline-pending')
    await shot(pages.alice, '02-alice-online-meanwhile')

    await proxy!.restore()
    const after = await converged()
    expect(after.title).toBe(before.title)
    expect(after.tasks.slice(0, 3)).toEqual([
      // two votes on top of three, one from each side; alice's removal of a tag she had seen, bob's new tag
      { title: 'Write the announcement', done: false, votes: 5, tags: ['offline', 'writing'], editing: [] },
      { title: 'Book the venue', done: true, votes: 1, tags: [], editing: [] },
      { title: 'Order snacks and drinks', done: true, votes: 0, tags: [], editing: [] }
    ])
    // added at once at the same place: every replica orders the tie the same way (by id)
    expect(after.tasks.slice(3).map(t => t.title).sort()).toEqual(['Print the flyers', 'Send the invites'])
    await shot(pages.bob, '03-bob-back-online')
  })

  it('with the hub stopped, the app opens from the service worker and shows the board from IndexedDB', async () => {
    const expected = await converged()
    // the service worker has the shell cached
    await expect.poll(async () => (await seen(pages.alice)).offlineReady, { timeout: 15_000 }).toBe(true)
    await pages.alice.evaluate(async () => { await navigator.serviceWorker.ready })
    await stopHub()
    try {
      await pages.alice.close()
      pages.alice = await open(contexts.alice, `${origin}/?webrtc=0`)
      const s = await seen(pages.alice)
      expect(s.link).toBe('offline')
      expect(boardOf(s)).toEqual(expected)
      const fromWorker = await pages.alice.evaluate(() => navigator.serviceWorker.controller !== null)
      expect(fromWorker).toBe(true)
      // still usable: an edit while everything is down
      await addTask(pages.alice, 'Written with the hub down')
      await expect.poll(async () => (await seen(pages.alice)).pending, { timeout: 10_000 }).toBeGreaterThan(0)
      await shot(pages.alice, '04-opened-offline-from-service-worker')
      // a second tab of alice's opens offline too, and the two tabs sync through the SharedWorker alone
      const tab2 = await open(contexts.alice, `${origin}/?webrtc=0`)
      await task(tab2, 'Written with the hub down')
      await addTask(tab2, 'From the second tab')
      await task(pages.alice, 'From the second tab')
      await tab2.close()
    } finally {
      await startHub()
    }
    const back = await converged()
    expect(back.tasks.map(t => t.title)).toEqual(expect.arrayContaining(['Written with the hub down', 'From the second tab']))
  })

  it('is an installable PWA: Chromium reports no installability errors', async () => {
    // a profile of its own: Chromium does not install apps from incognito-like contexts
    const profile = await mkdtemp(join(tmpdir(), 'aegis-demo-profile-'))
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 })
    try {
      await context.route(url => url.hostname !== '127.0.0.1', route => route.abort('blockedbyclient'))
      const p = context.pages()[0] ?? await context.newPage()
      p.on('pageerror', e => pageErrors.push(e.message))
      await p.goto(`${origin}/?webrtc=0`)
      await p.waitForFunction(() => document.documentElement.dataset.offlineReady === 'true', undefined, { timeout: 15_000 })
      const cdp = await context.newCDPSession(p)
      const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors')
      expect(installabilityErrors).toEqual([])
      const manifest = await cdp.send('Page.getAppManifest')
      expect(manifest.errors).toEqual([])
      expect(JSON.parse(manifest.data ?? '{}')).toMatchObject({ name: 'Aegis board', display: 'standalone', start_url: './' })
    } finally {
      await context.close()
      await rm(profile, { recursive: true, force: true })
    }
  })

  // page mode: each page runs its own WebRTCProvider next to its WebSocket provider;
  // worker mode: the tab elected with Web Locks runs it, bridged to the SharedWorker's doc
  it.each(['page', 'worker'])('peer to peer (%s mode): with the hub stopped, two users keep syncing over WebRTC', async (via) => {
    const url = `${origin}/?board=p2p-${via}&via=${via}`
    const a = await open(contexts.alice, url)
    const b = await open(contexts.bob, url)
    for (const p of [a, b]) {
      await expect.poll(async () => (await seen(p)).link, { timeout: 15_000 }).toBe('online')
      await expect.poll(() => p.evaluate(() => Number(document.getElementById('direct-peers')?.dataset.count)), { timeout: 20_000 }).toBe(1)
    }
    await stopHub()
    try {
      for (const p of [a, b]) await expect.poll(async () => (await seen(p)).link, { timeout: 10_000 }).toBe('offline')
      await addTask(a, 'Sent peer to peer')
      await addTask(b, 'Sent back the same way')
      await (await task(b, 'Sent peer to peer')).locator('.vote').click()
      await expect.poll(async () => (await seen(a)).tasks.map(t => [t.title, t.votes]), { timeout: 15_000 })
        .toEqual([['Sent peer to peer', 1], ['Sent back the same way', 0]])
      await expect.poll(async () => boardOf(await seen(b)), { timeout: 15_000 }).toEqual(boardOf(await seen(a)))
      await shot(a, `05-peer-to-peer-${via}-hub-down`)
    } finally {
      await startHub()
    }
    await a.close()
    await b.close()
  })

  it('reserving a board name: two users race for one name, exactly one wins and the other sees why', async () => {
    // the hub runs a Raft group of one: it leads once its election timeout has passed
    await expect.poll(() => hub!.metrics().raft?.role, { timeout: 10_000 }).toBe('leader')
    const a = await open(contexts.alice, `${origin}/?board=race-a&webrtc=0`)
    const b = await open(contexts.bob, `${origin}/?board=race-b&webrtc=0`)
    for (const p of [a, b]) {
      await expect.poll(async () => (await seen(p)).link, { timeout: 15_000 }).toBe('online')
      await expect.poll(() => p.locator('#reserve-button').isEnabled(), { timeout: 10_000 }).toBe(true)
      await p.locator('#reserve-name').fill('Launch Party')
    }
    // both click at once; the hub's Raft log orders the two compare-and-sets
    await Promise.all([a.locator('#reserve-button').click(), b.locator('#reserve-button').click()])
    const outcome = async (p: Page): Promise<string | undefined> => await p.locator('#reserve-result').getAttribute('data-outcome') ?? undefined
    await expect.poll(async () => [await outcome(a), await outcome(b)].sort(), { timeout: 20_000 }).toEqual(['lost', 'won'])
    const [winner, loser, winnerBoard] = await outcome(a) === 'won' ? [a, b, 'race-a'] : [b, a, 'race-b']
    expect(await winner.locator('#reserve-result').textContent()).toBe('“launch-party” is yours.')
    expect(await loser.locator('#reserve-result').textContent()).toContain(`“launch-party” is taken by board ${winnerBoard}`)
    // the winner's board shows its name to everyone on it (a register in the doc)
    await expect.poll(() => winner.locator('#reserved').textContent(), { timeout: 10_000 }).toBe('Reserved name: launch-party')
    expect(await loser.locator('#reserved').isHidden()).toBe(true)
    await shot(winner, '06-reservation-won')
    await shot(loser, '06-reservation-lost')
    // the holder may claim it again; the other still may not
    await winner.locator('#reserve-button').click()
    await expect.poll(() => winner.locator('#reserve-result').textContent(), { timeout: 10_000 }).toBe('“launch-party” is yours.')
    await a.close()
    await b.close()
  })

  it('npm start: builds nothing when fresh, prints the URL, serves the board, stops cleanly on SIGINT', async () => {
    const data = join(dir!, 'start-data')
    const c = child = spawn(process.execPath, ['scripts/start.mjs', '--port', '0', '--data', data], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    c.stdout!.on('data', (b: Buffer) => { out += b.toString() })
    c.stderr!.on('data', (b: Buffer) => { out += b.toString() })
    const exited = new Promise<number | null>(resolve => c.on('exit', code => resolve(code)))
    await expect.poll(() => /http:\/\/127\.0\.0\.1:\d+\//.exec(out)?.[0], { timeout: 120_000, interval: 200 }).toBeDefined()
    const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(out)![0]
    // fresh outputs are not built again (in a tree being edited meanwhile, a step may rebuild)
    expect(out).toMatch(/✓ (the hub → \.aegis-build\/ is up to date|built the hub → \.aegis-build\/)/)
    expect(out).toMatch(/✓ (the demo app → demo\/dist\/ is up to date|built the demo app → demo\/dist\/)/)
    expect(out).toContain('Ctrl-C stops it')

    const context = await newContext()
    try {
      const p = await open(context, `${url}?board=start-test`)
      await expect.poll(async () => (await seen(p)).link, { timeout: 10_000 }).toBe('online')
      await addTask(p, 'Served by npm start')
      await expect.poll(async () => (await seen(p)).pending, { timeout: 10_000 }).toBe(0)
      await shot(p, '07-npm-start')
      const types = await p.evaluate(async () => Promise.all(['/', '/app.js', '/app.css', '/sw.js', '/manifest.webmanifest', '/icon.svg'].map(async path =>
        [path, (await fetch(path, { cache: 'no-store' })).headers.get('content-type')])))
      expect(Object.fromEntries(types)).toEqual({
        '/': 'text/html; charset=utf-8',
        '/app.js': 'text/javascript; charset=utf-8',
        '/app.css': 'text/css; charset=utf-8',
        '/sw.js': 'text/javascript; charset=utf-8',
        '/manifest.webmanifest': 'application/manifest+json',
        '/icon.svg': 'image/svg+xml'
      })
      // nothing outside demo/dist/, however the path is spelt
      for (const path of ['/%2e%2e/package.json', '/..%2f..%2fpackage.json', '/.%2e/scripts/start.mjs', '/%2e%2e%5cpackage.json']) {
        const r = await fetch(`${url.slice(0, -1)}${path}`)
        expect(r.status, path).toBe(404)
      }
      expect(await (await fetch(`${url}healthz`)).json()).toEqual({ status: 'ok' })
    } finally {
      await context.close()
    }

    c.kill('SIGINT')
    expect(await exited).toBe(0)
    expect(out).toContain('stopped')
    // the board is in the data directory it was given
    expect((await readdir(join(data, 'rooms'))).some(name => name.startsWith('board'))).toBe(true)
  }, 180_000)
})

// (j) WebRTC in Chromium: our WebRTCProvider (dist/webrtc.js, signaling
// through our hub) against y-webrtc (its own signaling server,
// node_modules/y-webrtc/bin/server.js), both with two pages in two browser
// contexts of one headless Debian Chromium, on loopback (host candidates
// 127.0.0.1, no STUN/TURN). Each server runs in its own Node process.
//
// - time to first sync: page A holds a doc (100 map entries) and is in the
//   room; page B creates its provider; timed in B until it holds A's doc.
// - update latency: 1,000 small updates A → B, one at a time (B echoes an
//   ack that releases the next); one-way latency from a timestamp in the
//   update, on the shared clock of the two pages (performance.timeOrigin +
//   performance.now(), one browser process).
//
// Each library is a job of its own (harness.mjs): a fresh Node process with
// its own Chromium (pages loading only that library) and its own signaling
// server process.
//
//   node bench/webrtc.bench.mjs      or from bench/run.mjs: `webrtc`
import { fork, spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleForBrowser, CHROMIUM, CHROMIUM_BASE_ARGS } from './browser-bundle.mjs'
import { chromium } from 'playwright-core'
import { check, fmt, ms, table, versionOf } from './util.mjs'
import { QUICK, suiteMain } from './harness.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const ENTRIES = 100
const SYNC_ROUNDS = QUICK ? 1 : 9
const UPDATES = QUICK ? 100 : 1000
const WARMUP_UPDATES = QUICK ? 10 : 50

// TOOLCHAIN.md; loopback WebRTC: --allow-loopback-in-peer-connection, mDNS host names off
// (Chromium keeps only the last --disable-features, so Playwright's list is repeated), and
// contexts with the camera/microphone permission
const CHROMIUM_ARGS = [
  ...CHROMIUM_BASE_ARGS,
  '--allow-loopback-in-peer-connection',
  '--disable-features=AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,ThirdPartyStoragePartitioning,AvoidCorsURLLoaderRestartOnRedirect,TcpPortRandomizationWin,OptimizationHints,NetworkTimeServiceQuerying,AimEnabled,PreconnectToSearch,WebRtcHideLocalIpsWithMdns'
]

/** CommonJS files the two bundles need, wrapped as ES modules (this bench has no CommonJS plugin). */
const CJS = {
  sdp: join(ROOT, 'node_modules/sdp/sdp.js'),
  'simple-peer/simplepeer.min.js': join(ROOT, 'node_modules/simple-peer/simplepeer.min.js')
}

/** Bundles `code` for the browser; 'aegis-replication[/x]' is the built dist/ (one core copy). */
const bundle = async (code, core = false) => (await bundleForBrowser(code, { cjs: CJS, core })).code


const PAGE_JS = `
import * as A from '/aegis.js'
import * as YW from '/yjs.js'
const { Y, WebrtcProvider } = YW
const now = () => performance.timeOrigin + performance.now()
const state = { provider: undefined, doc: undefined, lat: [], acked: -1, waiter: undefined }

const waitUntil = (subscribe, pred, ms = 30000) => new Promise((resolve, reject) => {
  if (pred()) { resolve(); return }
  const timer = setTimeout(() => { off(); reject(new Error('timed out')) }, ms)
  const off = subscribe(() => { if (pred()) { clearTimeout(timer); off(); resolve() } })
})

// ------------------------------------------------------------------ aegis
const aegis = {
  open (url, room, seed) {
    const doc = new A.Doc()
    if (seed) doc.transact(() => { for (let i = 0; i < ${ENTRIES}; i++) doc.map('m').set('k' + i, i) })
    state.doc = doc
    state.provider = new A.WebRTCProvider(room, doc, { signaling: [url], iceServers: [] })
  },
  async firstSync (url, room) {
    const t0 = performance.now()
    aegis.open(url, room, false)
    const doc = state.doc
    await waitUntil(f => { doc.on('update', f); return () => doc.off('update', f) }, () => doc.map('m').get('k${ENTRIES - 1}') === ${ENTRIES - 1})
    return performance.now() - t0
  },
  echo () {
    const doc = state.doc
    let last = -1
    doc.on('update', () => {
      const p = doc.map('m').get('p')
      if (p === undefined || p.i <= last) return
      last = p.i
      state.lat.push(now() - p.t)
      doc.map('m').set('a', p.i)
    })
  },
  async pings (n) {
    const doc = state.doc
    doc.on('update', () => {
      const a = doc.map('m').get('a')
      if (a !== undefined && a > state.acked) { state.acked = a; state.waiter?.() }
    })
    for (let i = 0; i < n; i++) {
      const acked = new Promise(resolve => { state.waiter = resolve })
      doc.map('m').set('p', { i, t: now() })
      await acked
    }
  },
  close () { state.provider?.destroy(); state.doc?.destroy?.() }
}

// --------------------------------------------------------------- y-webrtc
const yjs = {
  open (url, room, seed) {
    const doc = new Y.Doc()
    if (seed) doc.transact(() => { for (let i = 0; i < ${ENTRIES}; i++) doc.getMap('m').set('k' + i, i) })
    state.doc = doc
    state.provider = new WebrtcProvider(room, doc, { signaling: [url], peerOpts: { config: { iceServers: [] } } })
  },
  async firstSync (url, room) {
    const t0 = performance.now()
    yjs.open(url, room, false)
    const m = state.doc.getMap('m')
    await waitUntil(f => { m.observe(f); return () => m.unobserve(f) }, () => m.get('k${ENTRIES - 1}') === ${ENTRIES - 1})
    return performance.now() - t0
  },
  echo () {
    const m = state.doc.getMap('m')
    let last = -1
    m.observe(() => {
      const p = m.get('p')
      if (p === undefined || p.i <= last) return
      last = p.i
      state.lat.push(now() - p.t)
      m.set('a', p.i)
    })
  },
  async pings (n) {
    const m = state.doc.getMap('m')
    m.observe(() => {
      const a = m.get('a')
      if (a !== undefined && a > state.acked) { state.acked = a; state.waiter?.() }
    })
    for (let i = 0; i < n; i++) {
      const acked = new Promise(resolve => { state.waiter = resolve })
      m.set('p', { i, t: now() })
      await acked
    }
  },
  close () { state.provider?.destroy(); state.doc?.destroy() }
}

const peersOf = (lib) => lib === aegis ? state.provider.peers.length : state.provider.room?.webrtcConns.size ?? 0
window.bench = { aegis, yjs, state, peers: (name) => peersOf(name === 'aegis' ? aegis : yjs) }
document.title = 'ready'
`

const freePort = () => new Promise((resolve, reject) => {
  const s = createServer()
  s.once('error', reject)
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)) })
})

/** y-webrtc's signaling server in a process of its own, bound to 127.0.0.1. */
const startYWebrtcServer = async () => {
  const port = await freePort()
  const server = join(ROOT, 'node_modules/y-webrtc/bin/server.js')
  const code = `import http from 'node:http'
const listen = http.Server.prototype.listen
http.Server.prototype.listen = function (port, ...rest) { return listen.call(this, port, '127.0.0.1', ...rest) }
await import(${JSON.stringify(server)})`
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise((resolve, reject) => {
    child.stdout.on('data', d => { if (String(d).includes('running')) resolve() })
    child.once('exit', c => reject(new Error(`y-webrtc server exited (${c})`)))
  })
  return { url: `ws://127.0.0.1:${port}`, stop: () => new Promise(resolve => { child.once('exit', resolve); child.kill('SIGTERM') }) }
}

/** Our hub (bench/servers/aegis-hub.mjs) in a process of its own. */
const startHub = async () => {
  const child = fork(join(ROOT, 'bench/servers/aegis-hub.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const first = await new Promise((resolve, reject) => { child.once('message', resolve); child.once('exit', c => reject(new Error(`hub exited (${c})`))) })
  return {
    url: `ws://127.0.0.1:${first.port}`,
    stop: () => new Promise(resolve => { child.once('exit', resolve); child.send('stop'); setTimeout(() => child.kill('SIGKILL'), 2000).unref() })
  }
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }

export const title = '(j) WebRTC between browser peers vs y-webrtc'

/** One process per library (its own Chromium and signaling server). */
export const jobs = () => [{ contender: 'aegis' }, { contender: 'yjs' }]

/** First-sync rounds and update latency of one library. */
export async function measure ({ contender: only }) {
  const libJs = only === 'aegis'
    ? await bundle(`export * from 'aegis-replication'\nexport { WebRTCProvider } from 'aegis-replication/webrtc'`, true)
    : await bundle(`export * as Y from 'yjs'\nexport { WebrtcProvider } from 'y-webrtc'`)
  const aegisJs = only === 'aegis' ? libJs : 'export {}'
  const yjsJs = only === 'yjs' ? libJs : 'export {}'
  const files = {
    '/': ['text/html', '<!doctype html><meta charset="utf-8"><title>loading</title><script type="module" src="/page.js"></script>'],
    '/page.js': ['text/javascript', PAGE_JS],
    '/aegis.js': ['text/javascript', aegisJs],
    '/yjs.js': ['text/javascript', yjsJs]
  }
  const http = createServer((req, res) => {
    const f = files[new URL(req.url, 'http://x').pathname]
    if (f === undefined) { res.writeHead(404).end(); return }
    res.writeHead(200, { 'content-type': f[0], 'cache-control': 'no-store' }).end(f[1])
  })
  await new Promise(resolve => http.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${http.address().port}`
  const server = only === 'aegis' ? await startHub() : await startYWebrtcServer()
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 })
  const browserVersion = browser.version()
  const contexts = []
  const errors = []
  const newPage = async (context) => {
    const page = await context.newPage()
    page.on('pageerror', e => errors.push(e.message))
    await page.goto(`${origin}/`)
    await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 10_000 })
    return page
  }
  const libs = { [only]: server.url }
  const sync = { [only]: [] }
  const latency = {}
  let roomN = 0
  try {
    for (let i = 0; i < 2; i++) {
      const c = await browser.newContext({ permissions: ['camera', 'microphone'] })
      await c.route(url => url.hostname !== '127.0.0.1', route => route.abort('blockedbyclient'))
      contexts.push(c)
    }
    // time to first sync (the first round warms up)
    for (let round = 0; round <= SYNC_ROUNDS; round++) {
      for (const name of Object.keys(libs)) {
        const room = `bench-sync-${name}-${roomN++}`
        const [a, b] = await Promise.all(contexts.map(newPage))
        await a.evaluate(({ name, url, room }) => window.bench[name].open(url, room, true), { name, url: libs[name], room })
        await new Promise(resolve => setTimeout(resolve, 300)) // A is in the room before B comes
        const t = await b.evaluate(({ name, url, room }) => window.bench[name].firstSync(url, room), { name, url: libs[name], room })
        if (round > 0) sync[name].push(t)
        await Promise.all([a, b].map(p => p.evaluate(name => window.bench[name].close(), name)))
        await Promise.all([a.close(), b.close()])
      }
    }
    // latency: one connected pair per library, 1,000 ping-pongs after a warm-up
    for (const name of Object.keys(libs)) {
      const room = `bench-latency-${name}-${roomN++}`
      const [a, b] = await Promise.all(contexts.map(newPage))
      await Promise.all([a, b].map((p, i) => p.evaluate(({ name, url, room, seed }) => window.bench[name].open(url, room, seed), { name, url: libs[name], room, seed: i === 0 })))
      await b.waitForFunction(name => window.bench.peers(name) > 0 && window.bench.state.doc.toJSON !== undefined, name, { timeout: 30_000 })
      await a.waitForFunction(name => window.bench.peers(name) > 0, name, { timeout: 30_000 })
      await b.evaluate(name => window.bench[name].echo(), name)
      await a.evaluate(n => window.bench[n.name].pings(n.count), { name, count: WARMUP_UPDATES + UPDATES })
      const lat = (await b.evaluate(() => window.bench.state.lat)).slice(WARMUP_UPDATES)
      check(lat.length === UPDATES, `${name}: ${lat.length} of ${UPDATES} updates arrived`)
      const sorted = [...lat].sort((x, y) => x - y)
      latency[name] = { p50: pct(sorted, 0.5), p99: pct(sorted, 0.99), mean: lat.reduce((s, x) => s + x, 0) / lat.length }
      await Promise.all([a, b].map(p => p.evaluate(name => window.bench[name].close(), name)))
      await Promise.all([a.close(), b.close()])
    }
    check(errors.length === 0, `page errors: ${errors.join('; ')}`)
  } finally {
    for (const c of contexts) await c.close().catch(() => {})
    await browser.close()
    await server.stop()
    await new Promise(resolve => http.close(resolve))
  }
  return { sync: sync[only], latency: latency[only], browserVersion }
}

/** The `## (j)` section. */
export function render (outs) {
  const by = Object.fromEntries(outs.map((o) => [o.job.contender, o.result]))
  const sync = { aegis: by.aegis.sync, yjs: by.yjs.sync }
  const latency = { aegis: by.aegis.latency, yjs: by.yjs.latency }
  const browserVersion = by.aegis.browserVersion
  const s = { aegis: median(sync.aegis), yjs: median(sync.yjs) }
  const r = (ours, theirs) => `${fmt(theirs / ours, 2)}×`
  const markdown = [
    '## (j) WebRTC between two browser peers (Chromium)',
    '',
    `Two pages in two contexts of a headless Chromium ${browserVersion}, loopback host candidates (no STUN/TURN); signaling through our hub vs y-webrtc ${versionOf('y-webrtc')}'s server, each in its own process. ` +
    `First sync: A holds ${ENTRIES} map entries and is in the room, B joins; timed in B from creating its provider until it holds A's doc (signaling, ICE, DTLS, SCTP, handshake); median of ${SYNC_ROUNDS} rounds after one warm-up; each library runs in a fresh Node process with its own Chromium (pages loading only that library) and its own signaling server process. ` +
    `Latency: ${fmt(UPDATES)} small updates A → B one at a time (B's ack releases the next; ${WARMUP_UPDATES} warm-up), one-way, on the pages' shared clock. Ratio = y-webrtc ÷ ours (> 1: ours is faster).`,
    '',
    table(['', 'aegis-replication', 'y-webrtc', 'ratio'], [
      ['time to first sync (median)', ms(s.aegis), ms(s.yjs), r(s.aegis, s.yjs)],
      ['update latency p50', ms(latency.aegis.p50), ms(latency.yjs.p50), r(latency.aegis.p50, latency.yjs.p50)],
      ['update latency p99', ms(latency.aegis.p99), ms(latency.yjs.p99), r(latency.aegis.p99, latency.yjs.p99)],
      ['update latency mean', ms(latency.aegis.mean), ms(latency.yjs.mean), r(latency.aegis.mean, latency.yjs.mean)]
    ]),
    '',
    `First-sync rounds (ms): ours ${sync.aegis.map(x => fmt(x, 0)).join(', ')}; y-webrtc ${sync.yjs.map(x => fmt(x, 0)).join(', ')}.`
  ].join('\n')
  return markdown
}

await suiteMain(import.meta.url, { jobs, measure, render })

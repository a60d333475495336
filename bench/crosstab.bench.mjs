// (j) Cross-tab latency in Chromium: two pages of one browser context sync a
// doc over BroadcastChannel — aegis-replication's BroadcastChannelProvider
// (dist/broadcast-channel.js) against a Yjs cross-tab sync built on
// y-protocols/sync the way y-websocket's BroadcastChannel path is (step 1 +
// step 2 on connect, updates as sync messages, answers to step 1).
// Page A writes a small value, page B sees it and answers, A sees the answer
// and writes the next: one update in flight at a time, so each figure is a
// latency, not a throughput.
//
// Each round of each library is a job of its own (harness.mjs): a fresh Node
// process with its own Chromium, whose pages load only that library.
//
//   node bench/crosstab.bench.mjs          (or: node --expose-gc bench/run.mjs crosstab)
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleForBrowser, CHROMIUM, CHROMIUM_BASE_ARGS } from './browser-bundle.mjs'
import { chromium } from 'playwright-core'
import { check, fmt, table, versionOf } from './util.mjs'
import { QUICK, suiteMain } from './harness.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DIST = join(ROOT, 'dist')
const N = QUICK ? 100 : 1000
const WARMUP = QUICK ? 10 : 100
const ROUNDS = QUICK ? 1 : 3

// see /work/shared/TOOLCHAIN.md
const CHROMIUM_ARGS = [
  ...CHROMIUM_BASE_ARGS,
  '--disable-renderer-backgrounding', '--disable-background-timer-throttling'
]



const PAGE_JS = `
import * as A from '/aegis.js'
import * as YS from '/yjs.js'
const { Y, sync, encoding, decoding } = YS
const now = () => performance.timeOrigin + performance.now()

/** A Yjs doc synced over BroadcastChannel with y-protocols/sync, as y-websocket's bc path does. */
const MESSAGE_SYNC = 0
const connectYjs = (room, ydoc) => {
  const bc = new BroadcastChannel('y:' + room)
  const publish = (encoder) => bc.postMessage(encoding.toUint8Array(encoder))
  bc.onmessage = (event) => {
    const decoder = decoding.createDecoder(new Uint8Array(event.data))
    const encoder = encoding.createEncoder()
    if (decoding.readVarUint(decoder) !== MESSAGE_SYNC) return
    encoding.writeVarUint(encoder, MESSAGE_SYNC)
    sync.readSyncMessage(decoder, encoder, ydoc, bc)
    if (encoding.length(encoder) > 1) publish(encoder) // the answer to a step 1
  }
  const onUpdate = (update, origin) => {
    if (origin === bc) return
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, MESSAGE_SYNC)
    sync.writeUpdate(encoder, update)
    publish(encoder)
  }
  ydoc.on('update', onUpdate)
  const step1 = encoding.createEncoder()
  encoding.writeVarUint(step1, MESSAGE_SYNC)
  sync.writeSyncStep1(step1, ydoc)
  publish(step1)
  const step2 = encoding.createEncoder()
  encoding.writeVarUint(step2, MESSAGE_SYNC)
  sync.writeSyncStep2(step2, ydoc)
  publish(step2)
  return { destroy: () => { ydoc.off('update', onUpdate); bc.close() } }
}

/** One library's side of a session: read/write ping and pong, listen to every update. */
const open = (lib, room) => {
  if (lib === 'aegis') {
    const doc = new A.Doc()
    const provider = new A.BroadcastChannelProvider(room, doc)
    return {
      ready: provider.whenSynced,
      ping: (v) => doc.register('ping').set(v),
      pong: (i) => doc.register('pong').set(i),
      getPing: () => doc.register('ping').get(),
      getPong: () => doc.register('pong').get(),
      onUpdate: (f) => doc.on('update', f),
      destroy: () => { provider.destroy(); doc.destroy() }
    }
  }
  const ydoc = new Y.Doc()
  const m = ydoc.getMap('m')
  const conn = connectYjs(room, ydoc)
  return {
    ready: Promise.resolve(),
    ping: (v) => m.set('ping', v),
    pong: (i) => m.set('pong', i),
    getPing: () => m.get('ping'),
    getPong: () => m.get('pong'),
    onUpdate: (f) => ydoc.on('update', f),
    destroy: () => { conn.destroy(); ydoc.destroy() }
  }
}

let s = null
/** Page B: answer every new ping with a pong; record the one-way latency. */
const echo = async (lib, room) => {
  s = open(lib, room)
  const oneWay = []
  let last = -1
  s.onUpdate(() => {
    const v = s.getPing()
    if (v == null || v.i === last) return
    last = v.i
    oneWay.push(now() - v.t)
    queueMicrotask(() => s.pong(v.i))
  })
  s.oneWay = oneWay
  await s.ready
}
/** Page A: n pings, each after the previous pong; returns round trips. */
const drive = async (lib, room, n, warmup) => {
  s = open(lib, room)
  await s.ready
  let want = -1
  let resolve = null
  s.onUpdate(() => { if (resolve !== null && s.getPong() === want) { const r = resolve; resolve = null; queueMicrotask(r) } })
  const rtt = []
  for (let i = 0; i < warmup + n; i++) {
    want = i
    const t0 = now()
    const got = new Promise((r) => { resolve = r })
    s.ping({ i, t: now() })
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(lib + ': no pong for ping ' + i)), 10000))
    await Promise.race([got, timeout])
    if (i >= warmup) rtt.push(now() - t0)
  }
  return rtt
}
const takeOneWay = (warmup) => s.oneWay.slice(warmup)
const close = () => { s?.destroy(); s = null }
window.bench = { echo, drive, takeOneWay, close, isolated: globalThis.crossOriginIsolated === true }
`

const HTML = '<!doctype html><meta charset="utf-8"><title>crosstab bench</title><script type="module" src="/page.js"></script>'

const serve = (files) => new Promise((resolve, reject) => {
  const server = createServer((req, res) => {
    const f = files[new URL(req.url, 'http://x').pathname]
    if (f === undefined) { res.writeHead(404).end(); return }
    // cross-origin isolated pages get 5 µs timers instead of 100 µs
    res.writeHead(200, {
      'content-type': f[0],
      'cache-control': 'no-store',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp'
    }).end(f[1])
  })
  server.on('error', reject)
  server.listen(0, '127.0.0.1', () => resolve(server))
})

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]
}
const median = (xs) => pct(xs, 50)
const us = (msv) => `${fmt(msv * 1000, 0)} µs`

export const title = '(k) cross-tab latency over BroadcastChannel in Chromium'

/** ROUNDS rounds, alternating which library goes first; each round of each library is its own process. */
export const jobs = () => Array.from({ length: ROUNDS }, (_, round) =>
  (round % 2 === 0 ? ['aegis', 'yjs'] : ['yjs', 'aegis']).map((contender) => ({ contender, round }))).flat()

/** One round of one library: its own Chromium, two pages that load only that library. */
export async function measure ({ contender: lib, round: r }, { log = console.log } = {}) {
  if (!existsSync(join(DIST, 'broadcast-channel.js'))) {
    log('[crosstab] dist/ is missing: building it with `npx rollup -c`')
    execFileSync('npx', ['rollup', '-c', '--silent'], { cwd: ROOT, stdio: 'ignore' })
  }
  check(existsSync(CHROMIUM), `${CHROMIUM} exists (apt-get install chromium)`)
  const bundle = lib === 'aegis'
    ? await bundleForBrowser("export { Doc } from 'aegis-replication'\nexport { BroadcastChannelProvider } from 'aegis-replication/broadcast-channel'", { core: true })
    : await bundleForBrowser("export * as Y from 'yjs'\nexport * as sync from 'y-protocols/sync'\nexport * as encoding from 'lib0/encoding'\nexport * as decoding from 'lib0/decoding'")

  const server = await serve({
    '/': ['text/html; charset=utf-8', HTML],
    '/page.js': ['text/javascript', PAGE_JS],
    '/aegis.js': ['text/javascript', lib === 'aegis' ? bundle.code : 'export {}'],
    '/yjs.js': ['text/javascript', lib === 'yjs' ? bundle.code : 'export {}']
  })
  const origin = `http://127.0.0.1:${server.address().port}`
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true })
  let browserVersion
  let isolated = false
  let rtt
  let oneWay
  try {
    browserVersion = browser.version()
    const context = await browser.newContext()
    await context.route((url) => !url.href.startsWith(origin), (route) => route.abort())
    const pageErrors = []
    const newPage = async () => {
      const p = await context.newPage()
      p.on('pageerror', (e) => pageErrors.push(e.message))
      await p.goto(`${origin}/`)
      await p.waitForFunction(() => window.bench !== undefined, null, { timeout: 15_000 })
        .catch((e) => { throw new Error(`the bench page did not start: ${pageErrors.join('; ') || e.message}`) })
      return p
    }
    const a = await newPage()
    const b = await newPage()
    isolated = await a.evaluate(() => window.bench.isolated)
    const room = `bench-${lib}-${r}`
    await b.evaluate(([lib, room]) => window.bench.echo(lib, room), [lib, room])
    rtt = await a.evaluate(([lib, room, n, w]) => window.bench.drive(lib, room, n, w), [lib, room, N, WARMUP])
    oneWay = await b.evaluate((w) => window.bench.takeOneWay(w), WARMUP)
    await a.evaluate(() => window.bench.close())
    await b.evaluate(() => window.bench.close())
    check(rtt.length === N, `${lib}: ${rtt.length} round trips`)
    check(oneWay.length === N, `${lib}: B saw ${oneWay.length} of ${N} pings, each once, in order`)
    log(`[crosstab] round ${r + 1}/${ROUNDS} ${lib}: one-way p50 ${us(median(oneWay))}, p99 ${us(pct(oneWay, 99))}; round trip p50 ${us(median(rtt))}`)
    check(pageErrors.length === 0, `no page errors (${pageErrors.join('; ')})`)
  } finally {
    await browser.close()
    await new Promise((resolve) => server.close(resolve))
  }
  return { rtt, oneWay, browserVersion, isolated }
}

/** The `## (k)` section from every round of both libraries. */
export function render (outs) {
  const samples = { aegis: { rtt: [], oneWay: [] }, yjs: { rtt: [], oneWay: [] } }
  const perRound = { aegis: [], yjs: [] }
  for (const { job, result } of outs) {
    samples[job.contender].rtt.push(...result.rtt)
    samples[job.contender].oneWay.push(...result.oneWay)
    perRound[job.contender].push(median(result.oneWay))
  }
  const browserVersion = outs[0].result.browserVersion
  const isolated = outs.every((o) => o.result.isolated)
  const stat = (xs) => ({ p50: pct(xs, 50), p99: pct(xs, 99), mean: xs.reduce((x, y) => x + y, 0) / xs.length })
  const res = {
    aegis: { oneWay: stat(samples.aegis.oneWay), rtt: stat(samples.aegis.rtt), roundMedians: perRound.aegis },
    yjs: { oneWay: stat(samples.yjs.oneWay), rtt: stat(samples.yjs.rtt), roundMedians: perRound.yjs }
  }
  const ratio = (k, p) => res.yjs[k][p] / res.aegis[k][p]
  const x = (k, p) => `${fmt(ratio(k, p), 2)}×`
  const range = (xs) => `${us(Math.min(...xs))}–${us(Math.max(...xs))}`
  const markdown = [
    `## (k) Cross-tab latency over BroadcastChannel in Chromium (${fmt(N)} small updates)`,
    '',
    `Chromium ${browserVersion} (${CHROMIUM}), headless (playwright-core ${versionOf('playwright-core')}); two pages of one browser context, each library bundled by rollup for the browser and served from 127.0.0.1. Page A writes \`{ i, t }\` (aegis: \`doc.register('ping').set\`; Yjs: \`ymap.set('ping', …)\`), page B sees it on the doc's \`update\` event and writes \`pong = i\`, A sees the pong and writes the next: one update in flight at a time. One-way = B's receive time − A's send time, both \`performance.timeOrigin + performance.now()\`; round trip measured in A; ${isolated ? 'the pages are cross-origin isolated (COOP + COEP), so timers resolve to about 5 µs' : 'the pages are not cross-origin isolated: timers resolve to 100 µs'}. ${fmt(WARMUP)} warm-up pings, then ${fmt(N)} timed, in each of ${ROUNDS} rounds (libraries alternate first; each round of each library in a fresh Node process with its own Chromium whose pages load that library only); percentiles over all ${fmt(N * ROUNDS)} samples; every ping seen exactly once, in order.`,
    '',
    `- **aegis-replication** \`BroadcastChannelProvider\` (a \`PeerSync\` session with \`announceState\` on the channel \`aegis:<room>\`, binary protocol v1).`,
    `- **Yjs ${versionOf('yjs')} + y-protocols ${versionOf('y-protocols')}**: the bench page's own cross-tab sync, y-websocket's BroadcastChannel path without the socket: on connect a sync step 1 and step 2, then each update as a sync message, step 1 answered with step 2.`,
    '',
    table(['', 'aegis-replication', `Yjs + y-protocols`, 'Yjs ÷ aegis'], [
      ['**one-way, p50**', us(res.aegis.oneWay.p50), us(res.yjs.oneWay.p50), x('oneWay', 'p50')],
      ['**one-way, p99**', us(res.aegis.oneWay.p99), us(res.yjs.oneWay.p99), x('oneWay', 'p99')],
      ['one-way, mean', us(res.aegis.oneWay.mean), us(res.yjs.oneWay.mean), x('oneWay', 'mean')],
      ['round trip (A → B → A), p50', us(res.aegis.rtt.p50), us(res.yjs.rtt.p50), x('rtt', 'p50')],
      ['round trip, p99', us(res.aegis.rtt.p99), us(res.yjs.rtt.p99), x('rtt', 'p99')],
      ['one-way p50 per round (min–max)', range(res.aegis.roundMedians), range(res.yjs.roundMedians), '']
    ]),
    '',
    `Conclusion: a small edit reaches another tab in ${us(res.aegis.oneWay.p50)} at the median (p99 ${us(res.aegis.oneWay.p99)}) with aegis-replication and ${us(res.yjs.oneWay.p50)} (p99 ${us(res.yjs.oneWay.p99)}) with Yjs + y-protocols: Yjs ÷ aegis = ${x('oneWay', 'p50')} at p50, ${x('oneWay', 'p99')} at p99. ${ratio('oneWay', 'p50') >= 1 ? 'aegis-replication is faster' : `aegis-replication is slower (Yjs takes ${fmt(ratio('oneWay', 'p50') * 100, 0)}% of its median time)`}. The browser's BroadcastChannel hop between the pages' renderer processes is most of either figure; what differs is each library's encode, apply and event work per update.`
  ].join('\n')
  return markdown
}

await suiteMain(import.meta.url, { jobs, measure, render })

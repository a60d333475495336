// Sync through a hub on loopback (issue #3): aegis-replication's hub and
// WebSocketProvider against y-websocket's server (@y/websocket-server) and
// WebsocketProvider. Each server runs in its own process (forked with
// --expose-gc, so its memory can be read); the clients of each scenario run
// in a fresh process of their own (one job of harness.mjs), which forks the
// scenario's fresh server.
//
//   node --expose-gc bench/sync.bench.mjs                       (all jobs, a process each)
//   node --expose-gc bench/sync.bench.mjs --contender yjs --job '{"contender":"yjs","scenario":"h","n":200,"run":0}' --json
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { check, fmt, ms, bytes, table, versionOf } from './util.mjs'
import { QUICK, suiteMain } from './harness.mjs'

const KEYS = QUICK ? 1_000 : 10_000
const SYNC_WARMUP = QUICK ? 1 : 5
const SYNC_RUNS = QUICK ? 2 : 10
const FANOUT = QUICK ? [20, 100] : (process.env.BENCH_FANOUT?.split(',').map(Number) ?? [200, 1000, 5000])
const UPDATES_PER_FANOUT = QUICK ? 5 : 20
/** Runs per fan-out size: the largest runs once (it takes minutes and one machine's file descriptors). */
const fanoutRuns = (n) => n === FANOUT[FANOUT.length - 1] ? 1 : (QUICK ? 1 : 3)
/** Open files a fan-out job's process (and the server it forks) needs: a socket per client, plus slack. */
const fdsFor = (n) => n + 1024

const until = async (cond, what, timeoutMs = 120_000) => {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error(`benchmark timed out waiting for ${typeof what === 'function' ? what() : what}`)
    await new Promise(r => setTimeout(r, 1))
  }
}

/** A server process: resolves with { port, mem(), stop() }. */
const startServer = async (script) => {
  const child = fork(fileURLToPath(new URL(`./servers/${script}`, import.meta.url)), [], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const first = await new Promise((resolve, reject) => { child.once('message', resolve); child.once('exit', (c) => reject(new Error(`${script} exited (${c})`))) })
  const ask = () => new Promise(resolve => { child.once('message', (m) => resolve(m.memory)); child.send('mem') })
  return {
    port: first.port,
    mem: ask,
    stop: () => new Promise(resolve => { child.once('exit', resolve); child.send('stop'); setTimeout(() => child.kill('SIGKILL'), 2000).unref() })
  }
}

/** A ws class that counts the bytes it receives and sends (one counter per class). */
const countingWebSocket = () => {
  const counter = { in: 0, out: 0 }
  class Counting extends WebSocket {
    constructor (...args) {
      super(...args)
      this.on('message', (d) => { counter.in += d.length ?? d.byteLength })
    }

    send (data, ...rest) {
      counter.out += data.length ?? data.byteLength
      return super.send(data, ...rest)
    }
  }
  return { Counting, counter }
}

const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]
}

const contenders = (lib, ws) => ({
  aegis: {
    server: 'aegis-hub.mjs',
    connect (url, room, tag) {
      const doc = new lib.Doc()
      // one socket per client: the provider shares a socket per URL, so each client gets its own URL
      const provider = new ws.WebSocketProvider(`${url}/?client=${tag}`, room, doc, { WebSocket: this.WS ?? WebSocket })
      return { doc, provider, synced: () => provider.synced, destroy: () => provider.destroy() }
    },
    write (c, n) { for (let i = 0; i < n; i++) c.doc.map('m').set('key-' + i, i) },
    settled: (c) => c.provider.pending === 0,
    size: (c) => c.doc.map('m').size,
    onChange (c, f) { c.doc.on('update', () => f()) },
    get: (c, k) => c.doc.map('m').get(k),
    set: (c, k, v) => c.doc.map('m').set(k, v)
  },
  yjs: {
    server: 'yjs-server.mjs',
    connect (url, room) {
      const doc = new Y.Doc()
      const provider = new WebsocketProvider(url, room, doc, { WebSocketPolyfill: this.WS ?? WebSocket, disableBc: true })
      let synced = false
      provider.on('sync', (s) => { synced = s })
      return { doc, provider, synced: () => synced, destroy: () => { provider.destroy(); doc.destroy() } }
    },
    write (c, n) { const m = c.doc.getMap('m'); for (let i = 0; i < n; i++) m.set('key-' + i, i) },
    settled: (c) => c.provider.wsconnected && c.provider.ws?.bufferedAmount === 0,
    size: (c) => c.doc.getMap('m').size,
    onChange (c, f) { c.doc.on('update', () => f()) },
    get: (c, k) => c.doc.getMap('m').get(k),
    set: (c, k, v) => c.doc.getMap('m').set(k, v)
  }
})

const NAMES = { aegis: 'aegis-replication (hub + WebSocketProvider)', yjs: `Yjs (@y/websocket-server ${versionOf('@y/websocket-server')} + y-websocket ${versionOf('y-websocket')})` }

/** (g) a fresh client joins a room holding 10k keys: time to synced and bytes on the wire. */
const freshSync = async (c, server, log) => {
  const url = `ws://127.0.0.1:${server.port}`
  const room = `sync-${Date.now()}`
  const writer = c.connect(url, room, 'writer')
  await until(() => writer.synced(), 'writer synced')
  c.write(writer, KEYS)
  await until(() => c.settled(writer), 'writer settled')
  // warm-up reader: the room has everything once a reader sees it
  const warm = c.connect(url, room, 'warm')
  await until(() => warm.synced() && c.size(warm) === KEYS, 'warm-up reader')
  warm.destroy()
  const times = []
  let wire
  for (let r = 0; r < SYNC_WARMUP + SYNC_RUNS; r++) {
    const { Counting, counter } = countingWebSocket()
    c.WS = Counting
    const t0 = performance.now()
    const reader = c.connect(url, room, `reader-${r}`)
    await until(() => reader.synced() && c.size(reader) === KEYS, 'fresh reader synced')
    if (r >= SYNC_WARMUP) times.push(performance.now() - t0)
    check(c.get(reader, `key-${KEYS - 1}`) === KEYS - 1, 'fresh reader has the last key')
    wire = { in: counter.in, out: counter.out }
    reader.destroy()
    c.WS = undefined
  }
  writer.destroy()
  log(`    ${fmt(percentile(times, 0.5), 1)} ms, ${fmt(wire.in + wire.out)} B`)
  return { ms: percentile(times, 0.5), bytesIn: wire.in, bytesOut: wire.out }
}

/** (h) n clients in one room; one writes; delivery latency to every other client, and hub memory per client. */
const fanOut = async (c, server, n, log) => {
  const url = `ws://127.0.0.1:${server.port}`
  const room = `fanout-${n}-${Date.now()}`
  // a running server has served other rooms before: warm its code paths on
  // another room first, so the growth measured below is this room's clients
  const warm = [0, 1].map(i => c.connect(url, `${room}-warm`, `w${i}`))
  await until(() => warm.every(x => x.synced()), 'warm-up clients synced')
  c.set(warm[0], 'warm', 1)
  await until(() => c.get(warm[1], 'warm') !== undefined, 'warm-up update delivered')
  for (const x of warm) x.destroy()
  await new Promise(r => setTimeout(r, 200))
  const before = await server.mem()
  const clients = []
  for (let i = 0; i < n; i++) {
    clients.push(c.connect(url, room, `f${i}`))
    if (i % 50 === 49) await until(() => clients.every(x => x.synced()), `${i + 1} clients synced`)
  }
  await until(() => clients.every(x => x.synced()), `${n} clients synced`)
  await new Promise(r => setTimeout(r, 200))
  const after = await server.mem()
  const latencies = []
  const writer = clients[0]
  // one listener per client, registered once, watching the current key (a
  // listener added per update would leave each client running 20 by the end)
  let key
  let got = 0
  let arrivals = []
  clients.slice(1).forEach((x, i) => c.onChange(x, () => {
    if (key !== undefined && arrivals[i] === undefined && c.get(x, key) !== undefined) { arrivals[i] = performance.now(); got++ }
  }))
  for (let u = 0; u < UPDATES_PER_FANOUT; u++) {
    key = `tick-${u}`
    got = 0
    arrivals = new Array(n - 1).fill(undefined)
    const t0 = performance.now()
    c.set(writer, key, u)
    await until(() => got === n - 1, () => `update ${u} delivered to ${n - 1} clients (${got} have it; ${clients.filter(x => !x.synced()).length} clients not synced)`)
    for (const a of arrivals) if (a !== undefined) latencies.push(a - t0)
    await new Promise(r => setTimeout(r, 100))
  }
  check(latencies.length === (n - 1) * UPDATES_PER_FANOUT, 'every client got every update')
  for (const x of clients) x.destroy()
  const heapPerClient = (after.heapUsed + after.external - before.heapUsed - before.external) / n
  const rssPerClient = (after.rss - before.rss) / n
  log(`    p50 ${fmt(percentile(latencies, 0.5), 1)} ms, p99 ${fmt(percentile(latencies, 0.99), 1)} ms, ${fmt(heapPerClient)} B heap/client`)
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), heapPerClient, rssPerClient }
}

const ORDER = ['aegis', 'yjs']
export const title = '(g)–(h) sync through a hub'

/**
 * (g): one job per contender. (h): per client count, `fanoutRuns(n)` runs
 * alternating between the contenders; each job is a fresh client process with
 * a fresh server process.
 */
export const jobs = () => [
  ...ORDER.map((contender) => ({ contender, scenario: 'g' })),
  ...FANOUT.flatMap((n) => Array.from({ length: fanoutRuns(n) }, (_, run) =>
    ORDER.map((contender) => ({ contender, scenario: 'h', n, run }))).flat())
]

/** A fan-out job needs a socket per client in this process and in the server it forks. */
export const limits = (job) => job.scenario === 'h' ? { fds: fdsFor(job.n) } : undefined

/** Runs one (g) or (h) job in this process, against a fresh server process. */
export async function measure (job, { log = console.log } = {}) {
  const lib = await import(new URL('../dist/index.js', import.meta.url).href)
  const ws = await import(new URL('../dist/websocket.js', import.meta.url).href)
  const c = contenders(lib, ws)[job.contender]
  const server = await startServer(c.server)
  try {
    if (job.scenario === 'g') {
      log(`  (g) ${NAMES[job.contender]}: fresh client, ${fmt(KEYS)} keys`)
      return await freshSync(c, server, log)
    }
    log(`  (h) ${NAMES[job.contender]}: ${fmt(job.n)} clients, ${UPDATES_PER_FANOUT} updates, run ${job.run + 1}/${fanoutRuns(job.n)}`)
    return await fanOut(c, server, job.n, log)
  } finally {
    await server.stop()
  }
}

/** render() below reports jobs that timed out or could not run. */
export const rendersSkipped = true

/** The (g) and (h) sections. */
export function render (outs) {
  const results = { sync: {}, fanout: {}, skipped: {} }
  for (const { job, result } of outs) {
    if (job.scenario === 'g') results.sync[job.contender] = result
    else if (result?.skipped) results.skipped[job.n] = result.skipped
    else (results.fanout[`${job.contender}-${job.n}`] ??= []).push(result)
  }
  for (const [k, rs] of Object.entries(results.fanout)) {
    results.fanout[k] = Object.fromEntries(Object.keys(rs[0]).map(x => [x, percentile(rs.map(r => r[x]), 0.5)]))
  }
  const ran = FANOUT.filter(n => ORDER.every(name => results.fanout[`${name}-${n}`] !== undefined))
  const s = results.sync
  const f = results.fanout
  const ratio = (ours, theirs) => `${fmt(theirs / ours, 2)}×`
  return [
    `## (g) A fresh client syncs a ${fmt(KEYS)}-key room through a hub on loopback`,
    '',
    `The room was written by another client (${fmt(KEYS)} map sets, one transaction each). Time from creating the provider to "synced" with every key readable, median of ${SYNC_RUNS} fresh clients after ${SYNC_WARMUP} warm-up ones; bytes counted on the client's socket. The aegis hub stores rooms in its fsynced write-ahead log; @y/websocket-server keeps them in memory only.`,
    '',
    table(['', 'time', 'bytes received', 'bytes sent', 'time vs aegis'], Object.entries(s).map(([n, r]) =>
      [NAMES[n], ms(r.ms), bytes(r.bytesIn), bytes(r.bytesOut), n === 'aegis' ? '1×' : ratio(s.aegis.ms, r.ms)])),
    '',
    `aegis is ${ratio(s.aegis.ms, s.yjs.ms)} faster and moves ${fmt((s.yjs.bytesIn + s.yjs.bytesOut) / (s.aegis.bytesIn + s.aegis.bytesOut), 2)}× fewer bytes.`,
    '',
    '## (h) Fan-out: one room, many WebSocket clients, one update at a time',
    '',
    `All clients of a run are in one fresh Node process (one event loop), each on its own socket; the server runs in a fresh process of its own. ${FANOUT.slice(0, -1).map(n => fmt(n)).join(' and ')} clients: ${fanoutRuns(FANOUT[0])} run${fanoutRuns(FANOUT[0]) === 1 ? '' : 's'} each, alternating between the contenders; ${fmt(FANOUT[FANOUT.length - 1])} clients: ${fanoutRuns(FANOUT[FANOUT.length - 1])} run each (fresh client and server processes every run; the hub's per-IP and total connection limits are lifted); the table shows the median of the runs. One client writes a key ${UPDATES_PER_FANOUT} times; latency = from the write to the moment each other client can read it (p50/p99 over every delivery). Memory per client = growth of the server's heap + external memory (after GC) from before the clients joined to after, divided by the number of clients; before that baseline, two clients warm the server up on another room (as a running server has served rooms before).`,
    '',
    table(['', 'clients', 'p50', 'p99', 'server heap / client', 'server RSS / client'], ran.flatMap(n => ORDER.map(name => {
      const r = f[`${name}-${n}`]
      return [NAMES[name], fmt(n), ms(r.p50), ms(r.p99), bytes(Math.round(r.heapPerClient)), bytes(Math.round(r.rssPerClient))]
    }))),
    '',
    (() => {
      // memory per additional client, from the smallest to the largest run (fixed costs cancel out)
      const [lo, hi] = [ran[0], ran[ran.length - 1]]
      const marginal = (name) => (f[`${name}-${hi}`].heapPerClient * hi - f[`${name}-${lo}`].heapPerClient * lo) / (hi - lo)
      return `Server heap per additional client (${fmt(lo)} → ${fmt(hi)} clients): aegis ${bytes(Math.round(marginal('aegis')))}, Yjs ${bytes(Math.round(marginal('yjs')))}.`
    })(),
    '',
    ...Object.entries(results.skipped).map(([n, why]) => `${fmt(Number(n))} clients: not run (${why}).\n`),
    ran.map(n => `${fmt(n)} clients: p99 is ${ratio(f[`aegis-${n}`].p99, f[`yjs-${n}`].p99)} lower than Yjs's (Yjs ÷ aegis); server heap per client ${ratio(f[`aegis-${n}`].heapPerClient, f[`yjs-${n}`].heapPerClient)} (Yjs ÷ aegis, below 1× means aegis uses more).`).join(' ')
  ].join('\n')
}

await suiteMain(import.meta.url, { jobs, measure, render, limits })

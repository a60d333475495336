#!/usr/bin/env node
// `npm run bench`: runs every benchmark against the built bundle (dist/),
// side by side with Yjs, Automerge and Loro, and writes bench/RESULTS.md
// with the machine, the date and the package versions.
//
// Each contender runs in its own fresh `node --expose-gc` process: for each
// job of a suite (harness.mjs) this process spawns
// `node --expose-gc bench/<suite>.bench.mjs --contender <c> --job <json> --json`,
// collects its JSON result and renders the suite's markdown here.
//
//   node --expose-gc bench/run.mjs [crdt] [crosscheck] [hash] [size] [sync] [idb] [webrtc] [crosstab] [raft] [text]   (default: all)
//   BENCH_QUICK=1 node bench/run.mjs      small workloads, to check the bench itself; prints, never writes RESULTS.md
import { existsSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { machine, versionOf } from './util.mjs'
import { QUICK, runSuite } from './harness.mjs'

const root = new URL('..', import.meta.url)
const dist = fileURLToPath(new URL('dist/index.js', root))
if (!existsSync(dist)) {
  console.error('[bench] dist/index.js is missing: run `npm run build` first (`npm run bench` does it for you)')
  process.exit(1)
}

const SUITES = {
  crdt: ['(a)–(d) CRDT operations, state and sync', './crdt.bench.mjs'],
  crosscheck: ['standalone cross-check of (a) and (b)', './crosscheck.bench.mjs'],
  hash: ['(e) hashing', './hash.bench.mjs'],
  size: ['(f) bundle size', './size.bench.mjs'],
  sync: ['(g)–(h) sync through a hub', './sync.bench.mjs'],
  idb: ['(i) IndexedDB load in Chromium', './idb.bench.mjs'],
  webrtc: ['(j) WebRTC between browser peers vs y-webrtc', './webrtc.bench.mjs'],
  crosstab: ['(k) cross-tab latency over BroadcastChannel in Chromium', './crosstab.bench.mjs'],
  raft: ['(l) Raft: commits, reads, failover', './raft.bench.mjs'],
  text: ['(m) text: the automerge-paper trace (B4)', './text.bench.mjs']
}
const wanted = process.argv.slice(2).filter(a => !a.startsWith('-'))
for (const w of wanted) {
  if (!(w in SUITES)) {
    console.error(`[bench] unknown suite '${w}'; choose from ${Object.keys(SUITES).join(', ')}`)
    process.exit(1)
  }
}
const names = wanted.length > 0 ? wanted : Object.keys(SUITES)

const sections = []
const started = performance.now()
for (const name of names) {
  const [title, file] = SUITES[name]
  console.log(`[bench] ${title}${QUICK ? ' (BENCH_QUICK: small workloads)' : ''}`)
  const t0 = performance.now()
  const { markdown } = await runSuite(fileURLToPath(new URL(file, import.meta.url)))
  sections.push(markdown)
  console.log(`[bench] ${title}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
}

const pkgs = ['yjs', 'loro-crdt', '@automerge/automerge', 'hashring', 'lib0', 'y-websocket', '@y/websocket-server', 'y-indexeddb', 'ws']
const header = [
  '# Benchmark results',
  '',
  `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}.`,
  '',
  `- Machine: ${machine()}`,
  `- aegis-replication ${versionOf('aegis-replication') ?? ''} (dist/ bundle); ${pkgs.map(p => `${p} ${versionOf(p)}`).join(', ')}`,
  '- Processes: `bench/run.mjs` starts a fresh `node --expose-gc` process for every (suite, contender) job and renders the tables from their JSON results, so no library shares a process, a heap or a wasm instance with another. Servers (the hub, @y/websocket-server, the y-webrtc signaling server, the Raft hubs) run in processes of their own, forked by the job that uses them; browser suites launch their own Chromium per job. Where a suite alternates contenders over several runs, each run is its own process. Every result is checked for correctness before it counts.',
  '- A surprising ratio is checked against a minimal standalone script of the other library (`bench/standalone/`; see "Standalone cross-check").',
  `- Suites in this file: ${names.map(n => SUITES[n][0]).join('; ')}. Total bench time ${((performance.now() - started) / 1000).toFixed(0)} s.`,
  ''
].join('\n')

const out = new URL('bench/RESULTS.md', root)
const body = `${header}\n${sections.join('\n\n')}\n`
if (QUICK || (wanted.length > 0 && wanted.length < Object.keys(SUITES).length)) {
  // a partial or quick run prints its sections and leaves RESULTS.md to full runs
  console.log(body)
} else {
  writeFileSync(out, body)
  console.log(`[bench] wrote ${fileURLToPath(out)}`)
}
process.exit(0)

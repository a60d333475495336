#!/usr/bin/env node
// `npm run bench`: runs every benchmark against the built bundle (dist/),
// side by side with Yjs, Automerge and Loro in this one process, and writes
// bench/RESULTS.md with the machine, the date and the package versions.
//
//   node --expose-gc bench/run.mjs [crdt] [hash] [size] [sync] [idb]   (default: all)
import { existsSync, writeFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { machine, versionOf } from './util.mjs'

const root = new URL('..', import.meta.url)
const dist = fileURLToPath(new URL('dist/index.js', root))
if (!existsSync(dist)) {
  console.error('[bench] dist/index.js is missing: run `npm run build` first (`npm run bench` does it for you)')
  process.exit(1)
}
if (typeof globalThis.gc !== 'function') console.warn('[bench] start node with --expose-gc for steadier timings')

const SUITES = {
  crdt: ['(a)–(d) CRDT operations, state and sync', './crdt.bench.mjs'],
  hash: ['(e) hashing', './hash.bench.mjs'],
  size: ['(f) bundle size', './size.bench.mjs'],
  sync: ['(g)–(h) sync through a hub', './sync.bench.mjs'],
  idb: ['(i) IndexedDB load in Chromium', './idb.bench.mjs'],
  webrtc: ['(j) WebRTC between browser peers vs y-webrtc', './webrtc.bench.mjs'],
  crosstab: ['(k) cross-tab latency over BroadcastChannel in Chromium', './crosstab.bench.mjs'],
  raft: ['(l) Raft: commits, reads, failover', './raft.bench.mjs']
}
const wanted = process.argv.slice(2).filter(a => !a.startsWith('-'))
for (const w of wanted) {
  if (!(w in SUITES)) {
    console.error(`[bench] unknown suite '${w}'; choose from ${Object.keys(SUITES).join(', ')}`)
    process.exit(1)
  }
}
const names = wanted.length > 0 ? wanted : Object.keys(SUITES)

const lib = await import(pathToFileURL(dist).href)
const sections = []
const started = performance.now()
for (const name of names) {
  const [title, file] = SUITES[name]
  console.log(`[bench] ${title}`)
  const t0 = performance.now()
  const { run } = await import(file)
  const { markdown } = await run(lib)
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
  '- All libraries run in the same Node process, one after another; every result is checked for correctness before it counts.',
  `- Suites in this file: ${names.map(n => SUITES[n][0]).join('; ')}. Total bench time ${((performance.now() - started) / 1000).toFixed(0)} s.`,
  ''
].join('\n')

const out = new URL('bench/RESULTS.md', root)
const body = `${header}\n${sections.join('\n\n')}\n`
if (wanted.length > 0 && wanted.length < Object.keys(SUITES).length) {
  // a partial run prints its sections and leaves RESULTS.md to full runs
  console.log(body)
} else {
  writeFileSync(out, body)
  console.log(`[bench] wrote ${fileURLToPath(out)}`)
}
process.exit(0)

// Standalone cross-check (no bench code): Yjs's documented API only.
// 100,000 map sets, one transaction each and all in one transaction, each
// timed on a fresh Y.Doc; prints the median of RUNS runs.
//   node bench/standalone/yjs-map.mjs [n]
import * as Y from 'yjs'

const N = Number(process.argv[2] ?? 100_000)
const RUNS = 3
const time = (label, key, fn, check) => {
  const ts = []
  const cpu = []
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now()
    const c0 = process.cpuUsage()
    const doc = fn()
    ts.push(performance.now() - t0)
    const c = process.cpuUsage(c0)
    cpu.push((c.user + c.system) / 1000)
    if (!check(doc)) throw new Error(`${label}: wrong result`)
  }
  ts.sort((a, b) => a - b)
  cpu.sort((a, b) => a - b)
  console.log(JSON.stringify({ lib: 'yjs', op: label, key, n: N, ms: +ts[Math.floor(RUNS / 2)].toFixed(1), cpuMs: +cpu[Math.floor(RUNS / 2)].toFixed(1), runs: ts.map(t => +t.toFixed(1)) }))
}

time('map sets, one transaction each', 'mapPerTxn', () => {
  const doc = new Y.Doc()
  const map = doc.getMap('m')
  for (let i = 0; i < N; i++) map.set('key-' + i, i)
  return doc
}, (d) => d.getMap('m').get('key-' + (N - 1)) === N - 1)

time('map sets, one transaction', 'mapOneTxn', () => {
  const doc = new Y.Doc()
  const map = doc.getMap('m')
  doc.transact(() => { for (let i = 0; i < N; i++) map.set('key-' + i, i) })
  return doc
}, (d) => d.getMap('m').get('key-' + (N - 1)) === N - 1)

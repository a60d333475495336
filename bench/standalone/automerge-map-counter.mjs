// Standalone cross-check (no bench code): Automerge's documented API only.
// Map sets and counter increments, one change each and all in one change,
// on a fresh doc; one run each (Automerge's per-change cost grows with the
// doc). Sizes as the bench runs them: 5,000 sets one change each, 100,000
// sets in one change, 10,000 counter increments.
//   node bench/standalone/automerge-map-counter.mjs [setsOneChangeEach] [setsInOneChange] [increments]
import * as A from '@automerge/automerge'

const [SETS_EACH, SETS_ONE, INCREMENTS] = [5_000, 100_000, 10_000].map((d, i) => Number(process.argv[2 + i] ?? d))
// load and compile the wasm before timing anything (the bench's Automerge runs are warm too)
A.change(A.init(), (d) => { d.warm = 1 })
const time = (label, key, n, fn, check) => {
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  const doc = fn(n)
  const ms = performance.now() - t0
  const c = process.cpuUsage(c0)
  if (!check(doc, n)) throw new Error(`${label}: wrong result`)
  console.log(JSON.stringify({ lib: 'automerge', op: label, key, n, ms: +ms.toFixed(1), cpuMs: +((c.user + c.system) / 1000).toFixed(1) }))
}

time('map sets, one change each', 'mapPerTxn', SETS_EACH, (n) => {
  let doc = A.change(A.init(), (d) => { d.m = {} })
  for (let i = 0; i < n; i++) doc = A.change(doc, (d) => { d.m['key-' + i] = i })
  return doc
}, (d, n) => d.m['key-' + (n - 1)] === n - 1)

time('map sets, one change', 'mapOneTxn', SETS_ONE, (n) => A.change(A.init(), (d) => {
  d.m = {}
  for (let i = 0; i < n; i++) d.m['key-' + i] = i
}), (d, n) => d.m['key-' + (n - 1)] === n - 1)

time('counter +1, one change each', 'counterPerTxn', INCREMENTS, (n) => {
  let doc = A.change(A.init(), (d) => { d.c = new A.Counter() })
  for (let i = 0; i < n; i++) doc = A.change(doc, (d) => { d.c.increment(1) })
  return doc
}, (d, n) => d.c.value === n)

time('counter +1, one change', 'counterOneTxn', INCREMENTS, (n) => A.change(A.init(), (d) => {
  d.c = new A.Counter()
  for (let i = 0; i < n; i++) d.c.increment(1)
}), (d, n) => d.c.value === n)

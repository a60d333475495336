// Standalone cross-check (no bench code): Automerge's documented API only.
// Map sets and counter increments, one change each and all in one change,
// on a fresh doc; one run each (Automerge's per-change cost grows with the
// doc). Sizes as the bench runs them: 5,000 sets one change each, 100,000
// sets in one change, 10,000 counter increments.
//   node bench/standalone/automerge-map-counter.mjs
import * as A from '@automerge/automerge'

const time = (label, n, fn, check) => {
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  const doc = fn(n)
  const ms = performance.now() - t0
  const c = process.cpuUsage(c0)
  if (!check(doc, n)) throw new Error(`${label}: wrong result`)
  console.log(JSON.stringify({ lib: 'automerge', op: label, n, ms: +ms.toFixed(1), cpuMs: +((c.user + c.system) / 1000).toFixed(1) }))
}

time('map sets, one change each', 5_000, (n) => {
  let doc = A.change(A.init(), (d) => { d.m = {} })
  for (let i = 0; i < n; i++) doc = A.change(doc, (d) => { d.m['key-' + i] = i })
  return doc
}, (d, n) => d.m['key-' + (n - 1)] === n - 1)

time('map sets, one change', 100_000, (n) => A.change(A.init(), (d) => {
  d.m = {}
  for (let i = 0; i < n; i++) d.m['key-' + i] = i
}), (d, n) => d.m['key-' + (n - 1)] === n - 1)

time('counter +1, one change each', 10_000, (n) => {
  let doc = A.change(A.init(), (d) => { d.c = new A.Counter() })
  for (let i = 0; i < n; i++) doc = A.change(doc, (d) => { d.c.increment(1) })
  return doc
}, (d, n) => d.c.value === n)

time('counter +1, one change', 10_000, (n) => A.change(A.init(), (d) => {
  d.c = new A.Counter()
  for (let i = 0; i < n; i++) d.c.increment(1)
}), (d, n) => d.c.value === n)

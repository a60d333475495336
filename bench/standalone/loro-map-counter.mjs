// Standalone cross-check (no bench code): Loro's documented API only.
// 100,000 map sets and counter increments, one commit each and all in one
// commit, each timed on a fresh LoroDoc; prints the median of RUNS runs.
// Each doc and container handle is freed after its run (wasm memory is not
// garbage collected: leaked docs grow the heap and slow every later run).
//   node bench/standalone/loro-map-counter.mjs [n]
import { LoroDoc } from 'loro-crdt'

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
    doc.free()
  }
  ts.sort((a, b) => a - b)
  cpu.sort((a, b) => a - b)
  console.log(JSON.stringify({ lib: 'loro', op: label, key, n: N, ms: +ts[Math.floor(RUNS / 2)].toFixed(1), cpuMs: +cpu[Math.floor(RUNS / 2)].toFixed(1), runs: ts.map(t => +t.toFixed(1)) }))
}

time('map sets, one commit each', 'mapPerTxn', () => {
  const doc = new LoroDoc()
  const map = doc.getMap('m')
  for (let i = 0; i < N; i++) { map.set('key-' + i, i); doc.commit() }
  map.free()
  return doc
}, (d) => { const m = d.getMap('m'); const ok = m.get('key-' + (N - 1)) === N - 1; m.free(); return ok })

time('map sets, one commit', 'mapOneTxn', () => {
  const doc = new LoroDoc()
  const map = doc.getMap('m')
  for (let i = 0; i < N; i++) map.set('key-' + i, i)
  doc.commit()
  map.free()
  return doc
}, (d) => { const m = d.getMap('m'); const ok = m.get('key-' + (N - 1)) === N - 1; m.free(); return ok })

time('counter +1, one commit each', 'counterPerTxn', () => {
  const doc = new LoroDoc()
  const c = doc.getCounter('c')
  for (let i = 0; i < N; i++) { c.increment(1); doc.commit() }
  c.free()
  return doc
}, (d) => { const c = d.getCounter('c'); const ok = c.value === N; c.free(); return ok })

time('counter +1, one commit', 'counterOneTxn', () => {
  const doc = new LoroDoc()
  const c = doc.getCounter('c')
  for (let i = 0; i < N; i++) c.increment(1)
  doc.commit()
  c.free()
  return doc
}, (d) => { const c = d.getCounter('c'); const ok = c.value === N; c.free(); return ok })

// CRDT benchmarks (issue #2, a–d): aegis-replication's Doc side by side with
// Yjs, Automerge and Loro, each contender in its own fresh process (see
// harness.mjs). Every scenario checks its outcome.
//
//   node --expose-gc bench/crdt.bench.mjs                                  (all, a process each)
//   node --expose-gc bench/crdt.bench.mjs --contender loro [--json]       (one contender, here)
import * as Y from 'yjs'
import * as A from '@automerge/automerge'
import { LoroDoc } from 'loro-crdt'
import { timeIt, check, table, ms, bytes, ratio, fmt } from './util.mjs'
import { QUICK, suiteMain } from './harness.mjs'

const N = QUICK ? 10_000 : 100_000
const key = (i) => 'key-' + i

/** The four contenders, each with the same small set of operations. */
const contenders = (lib) => ({
  aegis: {
    mapPerTxn (n = N) {
      const d = new lib.Doc({ replicaId: 'a' })
      const m = d.map('m')
      for (let i = 0; i < n; i++) m.set(key(i), i)
      return d
    },
    mapOneTxn (n = N) {
      const d = new lib.Doc({ replicaId: 'a' })
      const m = d.map('m')
      d.transact(() => { for (let i = 0; i < n; i++) m.set(key(i), i) })
      return d
    },
    counterPerTxn (n = N) {
      const d = new lib.Doc({ replicaId: 'a' })
      const c = d.counter('c')
      for (let i = 0; i < n; i++) c.increment(1)
      return d
    },
    counterOneTxn (n = N) {
      const d = new lib.Doc({ replicaId: 'a' })
      const c = d.counter('c')
      d.transact(() => { for (let i = 0; i < n; i++) c.increment(1) })
      return d
    },
    mapSize: (d) => d.map('m').size,
    mapGet: (d, k) => d.map('m').get(k),
    counterValue: (d) => d.counter('c').value(),
    encodeState: (d) => d.encodeStateAsUpdate(),
    load: (bytes) => { const d = new lib.Doc({ replicaId: 'b' }); d.applyUpdate(bytes); return d },
    loadAndRead: (bytes) => { const d = new lib.Doc({ replicaId: 'b' }); d.applyUpdate(bytes); d.toJSON(); return d },
    sync (from) {
      const to = new lib.Doc({ replicaId: 'b' })
      const sv = to.encodeStateVector()
      const update = from.encodeStateAsUpdate(sv)
      to.applyUpdate(update)
      return { to, bytes: sv.length + update.length }
    }
  },
  yjs: {
    mapPerTxn () {
      const d = new Y.Doc()
      const m = d.getMap('m')
      for (let i = 0; i < N; i++) m.set(key(i), i)
      return d
    },
    mapOneTxn () {
      const d = new Y.Doc()
      const m = d.getMap('m')
      d.transact(() => { for (let i = 0; i < N; i++) m.set(key(i), i) })
      return d
    },
    mapSize: (d) => d.getMap('m').size,
    mapGet: (d, k) => d.getMap('m').get(k),
    encodeState: (d) => Y.encodeStateAsUpdate(d),
    load: (bytes) => { const d = new Y.Doc(); Y.applyUpdate(d, bytes); return d },
    loadAndRead: (bytes) => { const d = new Y.Doc(); Y.applyUpdate(d, bytes); d.getMap('m').toJSON(); return d },
    sync (from) {
      const to = new Y.Doc()
      const sv = Y.encodeStateVector(to)
      const update = Y.encodeStateAsUpdate(from, sv)
      Y.applyUpdate(to, update)
      return { to, bytes: sv.length + update.length }
    }
  },
  // Loro is wasm: a doc and every container handle (getMap, getCounter, …)
  // hold wasm memory until freed. Handles are freed right after use and each
  // run's doc before the next run (`dispose`): leaked, the wasm heap grows by
  // ~17 MB per 100k-set doc and, past ~150 MB, every operation costs about
  // twice as much (measured while checking the bench against
  // bench/standalone/loro-map-counter.mjs).
  loro: {
    mapPerTxn () {
      const d = new LoroDoc()
      d.setPeerId(1n)
      const m = d.getMap('m')
      for (let i = 0; i < N; i++) { m.set(key(i), i); d.commit() }
      m.free()
      return d
    },
    mapOneTxn () {
      const d = new LoroDoc()
      d.setPeerId(1n)
      const m = d.getMap('m')
      for (let i = 0; i < N; i++) m.set(key(i), i)
      d.commit()
      m.free()
      return d
    },
    counterPerTxn () {
      const d = new LoroDoc()
      d.setPeerId(1n)
      const c = d.getCounter('c')
      for (let i = 0; i < N; i++) { c.increment(1); d.commit() }
      c.free()
      return d
    },
    counterOneTxn () {
      const d = new LoroDoc()
      d.setPeerId(1n)
      const c = d.getCounter('c')
      for (let i = 0; i < N; i++) c.increment(1)
      d.commit()
      c.free()
      return d
    },
    mapSize: (d) => loroUse(d.getMap('m'), (m) => m.size),
    mapGet: (d, k) => loroUse(d.getMap('m'), (m) => m.get(k)),
    counterValue: (d) => loroUse(d.getCounter('c'), (c) => c.value),
    encodeState: (d) => d.export({ mode: 'snapshot' }),
    load: (bytes) => { const d = new LoroDoc(); d.import(bytes); return d },
    loadAndRead: (bytes) => { const d = new LoroDoc(); d.import(bytes); d.toJSON(); return d },
    sync (from) {
      const to = new LoroDoc()
      const version = to.oplogVersion()
      const vv = version.encode()
      version.free()
      const fromVV = lib_loroVV(vv)
      const update = from.export({ mode: 'update', from: fromVV })
      fromVV.free()
      to.import(update)
      return { to, bytes: vv.length + update.length }
    },
    dispose: (d) => d.free()
  },
  automerge: {
    // Automerge copies the materialised map on every change, so one change per
    // set grows quadratically (measured: 1k sets 0.5 s, 5k 4.4 s, 20k 85 s);
    // 100k would take about half an hour, so the bench runs it at AM_PER_TXN_N.
    mapPerTxnN: AM_PER_TXN_N,
    mapPerTxn (n = N) {
      let d = A.change(A.init({ actor: 'aa' }), (x) => { x.m = {} })
      for (let i = 0; i < n; i++) d = A.change(d, (x) => { x.m[key(i)] = i })
      return d
    },
    mapOneTxn () {
      return A.change(A.init({ actor: 'aa' }), (x) => { x.m = {}; for (let i = 0; i < N; i++) x.m[key(i)] = i })
    },
    // Counter increments grow quadratically too (measured: 10k changes 3.8 s,
    // 30k 31 s; 100k increments inside one change 176 s), so (b) runs at AM_COUNTER_N.
    counterN: AM_COUNTER_N,
    counterPerTxn (n = N) {
      let d = A.change(A.init({ actor: 'aa' }), (x) => { x.c = new A.Counter() })
      for (let i = 0; i < n; i++) d = A.change(d, (x) => { x.c.increment(1) })
      return d
    },
    counterOneTxn (n = N) {
      return A.change(A.init({ actor: 'aa' }), (x) => { x.c = new A.Counter(); for (let i = 0; i < n; i++) x.c.increment(1) })
    },
    mapSize: (d) => Object.keys(d.m).length,
    mapGet: (d, k) => d.m[k],
    counterValue: (d) => d.c.value,
    encodeState: (d) => A.save(d),
    dispose: (d) => A.free(d),
    load: (bytes) => A.load(bytes),
    loadAndRead: (bytes) => { const d = A.load(bytes); JSON.stringify(d); return d },
    sync (from) {
      let to = A.init()
      let sa = A.initSyncState()
      let sb = A.initSyncState()
      let total = 0
      for (let round = 0; round < 20; round++) {
        let msg
        ;[sa, msg] = A.generateSyncMessage(from, sa)
        if (msg) { total += msg.length; [to, sb] = A.receiveSyncMessage(to, sb, msg) }
        let back
        ;[sb, back] = A.generateSyncMessage(to, sb)
        if (back) { total += back.length; [from, sa] = A.receiveSyncMessage(from, sa, back) }
        if (!msg && !back) break
      }
      // receiving makes the old `from` outdated: hand back the new one
      return { to, bytes: total, from }
    }
  }
})

let lib_loroVV
/** Reads a Loro container handle, then frees it (wasm memory). */
const loroUse = (h, f) => { try { return f(h) } finally { h.free() } }
const AM_PER_TXN_N = QUICK ? 500 : 5_000
const AM_COUNTER_N = QUICK ? 1_000 : 10_000
const NAMES = { aegis: 'aegis-replication', yjs: 'Yjs', loro: 'Loro', automerge: 'Automerge' }
const ORDER = ['aegis', 'yjs', 'loro', 'automerge']

export const title = '(a)–(d) CRDT operations, state and sync'

/** One process per contender. */
export const jobs = () => ORDER.map((contender) => ({ contender }))

/**
 * Runs (a)–(d) for one contender in this process. aegis also runs the smaller
 * counts Automerge runs at, so the Automerge comparison needs no aegis code in
 * Automerge's process.
 */
export async function measure ({ contender: name, only }, { log = console.log } = {}) {
  const lib = await import(new URL('../dist/index.js', import.meta.url).href)
  const { VersionVector } = await import('loro-crdt')
  lib_loroVV = (bytes) => VersionVector.decode(bytes)
  const c = contenders(lib)[name]
  const r = { cpu: {} }
  let doc

  log(`  (a) ${NAMES[name]}: ${fmt(N)} map sets`)
  const free = (d) => c.dispose?.(d)
  const one = timeIt(() => c.mapOneTxn(), { dispose: free })
  check(c.mapSize(one.result) === N && c.mapGet(one.result, key(12345 % N)) === 12345 % N, `${name} one-txn map`)
  r.mapOneTxn = one.ms
  r.cpu.mapOneTxn = one.cpuMs
  if (c.mapPerTxnN === undefined) {
    free(one.result)
    const per = timeIt(() => c.mapPerTxn(), { runs: 5, dispose: free })
    check(c.mapSize(per.result) === N && c.mapGet(per.result, key(N - 1)) === N - 1, `${name} per-txn map`)
    r.mapPerTxn = per.ms
    r.cpu.mapPerTxn = per.cpuMs
    doc = per.result
  } else {
    const n = c.mapPerTxnN
    const per = timeIt(() => c.mapPerTxn(n), { runs: 1, warmup: 0 })
    check(c.mapSize(per.result) === n && c.mapGet(per.result, key(n - 1)) === n - 1, `${name} per-txn map (${n})`)
    r.mapPerTxnSmall = { n, ms: per.ms, cpuMs: per.cpuMs }
    free(per.result)
    doc = one.result
  }

  if (c.counterPerTxn && c.counterN === undefined) {
    log(`  (b) ${NAMES[name]}: ${fmt(N)} counter increments`)
    const cp = timeIt(() => c.counterPerTxn(), { runs: 5, dispose: free })
    check(c.counterValue(cp.result) === N, `${name} per-txn counter = ${c.counterValue(cp.result)}`)
    free(cp.result)
    const co = timeIt(() => c.counterOneTxn(), { dispose: free })
    check(c.counterValue(co.result) === N, `${name} one-txn counter`)
    free(co.result)
    r.counterPerTxn = cp.ms
    r.counterOneTxn = co.ms
    r.cpu.counterPerTxn = cp.cpuMs
    r.cpu.counterOneTxn = co.cpuMs
  } else if (c.counterPerTxn) {
    const n = c.counterN
    log(`  (b) ${NAMES[name]}: ${fmt(n)} counter increments`)
    const cp = timeIt(() => c.counterPerTxn(n), { runs: 1, warmup: 0 })
    check(c.counterValue(cp.result) === n, `${name} per-txn counter (${n})`)
    free(cp.result)
    const co = timeIt(() => c.counterOneTxn(n), { runs: 1, warmup: 0 })
    check(c.counterValue(co.result) === n, `${name} one-txn counter (${n})`)
    free(co.result)
    r.counterSmall = { n, perMs: cp.ms, oneMs: co.ms, perCpuMs: cp.cpuMs, oneCpuMs: co.cpuMs }
  }
  // `only: 'ab'` (the standalone cross-check) stops after (a) and (b)
  if (only === 'ab') return r
  if (name === 'aegis') {
    // the counts Automerge runs at, timed here (Automerge's process runs no aegis code)
    const m = timeIt(() => c.mapPerTxn(AM_PER_TXN_N))
    check(c.mapSize(m.result) === AM_PER_TXN_N, 'aegis per-txn map (small)')
    const cp = timeIt(() => c.counterPerTxn(AM_COUNTER_N))
    const co = timeIt(() => c.counterOneTxn(AM_COUNTER_N))
    check(c.counterValue(cp.result) === AM_COUNTER_N && c.counterValue(co.result) === AM_COUNTER_N, 'aegis counters (small)')
    r.small = { mapN: AM_PER_TXN_N, mapPerTxnMs: m.ms, counterN: AM_COUNTER_N, counterPerMs: cp.ms, counterOneMs: co.ms }
  }

  log(`  (c) ${NAMES[name]}: full state encode and load`)
  const enc = timeIt(() => c.encodeState(doc))
  const state = enc.result
  const load = timeIt(() => c.load(state), { dispose: free })
  check(c.mapSize(load.result) === N, `${name} load`)
  free(load.result)
  const loadRead = timeIt(() => c.loadAndRead(state), { dispose: free })
  check(c.mapGet(loadRead.result, key(777 % N)) === 777 % N, `${name} load+read`)
  free(loadRead.result)
  r.state = { bytes: state.length, encodeMs: enc.ms, loadMs: load.ms, loadReadMs: loadRead.ms }

  log(`  (d) ${NAMES[name]}: sync of ${fmt(N)} keys to an empty replica`)
  const sync = timeIt(() => { const x = c.sync(doc); if (x.from !== undefined) doc = x.from; return x }, { runs: name === 'automerge' ? 3 : 5, dispose: (x) => free(x.to) })
  check(c.mapSize(sync.result.to) === N && c.mapGet(sync.result.to, key(N - 1)) === N - 1, `${name} sync`)
  r.sync = { bytes: sync.result.bytes, ms: sync.ms }
  free(sync.result.to)
  free(doc)
  return r
}

/** The (a)–(d) sections from the contenders' results. */
export function render (outs) {
  const by = Object.fromEntries(outs.map((o) => [o.job.contender, o.result]))
  const pick = (f) => Object.fromEntries(ORDER.filter((n) => by[n] !== undefined && f(by[n]) !== undefined).map((n) => [n, f(by[n])]))
  const results = {
    mapPerTxn: pick((x) => x.mapPerTxn),
    mapOneTxn: pick((x) => x.mapOneTxn),
    counterPerTxn: pick((x) => x.counterPerTxn),
    counterOneTxn: pick((x) => x.counterOneTxn),
    state: pick((x) => x.state),
    sync: pick((x) => x.sync)
  }
  const small = by.aegis.small
  const amMap = by.automerge?.mapPerTxnSmall
  const amCounter = by.automerge?.counterSmall
  const yjsState = results.state.yjs.bytes
  const vs = (ours, theirs) => theirs === undefined ? '—' : ratio(ours, theirs)
  const cmpRow = (label, m) => [label, ...ORDER.map(n => m[n] === undefined ? 'n/a' : ms(m[n])),
    vs(m.aegis, m.yjs), vs(m.aegis, m.loro), vs(m.aegis, m.automerge)]
  const head = ['', 'aegis', 'Yjs', 'Loro', 'Automerge', 'Yjs / aegis', 'Loro / aegis', 'Automerge / aegis']
  const s = results.state
  const y = results.sync
  const n = fmt(N)
  return [
    `## (a) ${n} map sets and (b) ${n} counter increments`,
    '',
    `Keys \`'key-' + i\` → \`i\` into one map; median of 5 runs after a warm-up. Each contender runs in its own fresh \`node --expose-gc\` process. Automerge runs smaller counts (see below): its cost per operation grows with the count. A ratio above 1× means aegis is faster. Yjs has no counter type.`,
    '',
    table(head, [
      cmpRow('(a) map sets, one transaction each', results.mapPerTxn),
      cmpRow('(a) map sets, all in one transaction', results.mapOneTxn),
      cmpRow('(b) counter +1, one transaction each', results.counterPerTxn),
      cmpRow('(b) counter +1, all in one transaction', results.counterOneTxn)
    ]),
    '',
    amMap === undefined ? '' : `Automerge, one change per set: ${fmt(amMap.n)} sets took ${ms(amMap.ms)} (one run; aegis: ${ms(small.mapPerTxnMs)} for the same ${fmt(small.mapN)}, in its own process, ${ratio(small.mapPerTxnMs, amMap.ms)} faster). Each Automerge change copies the materialised map, so the time grows with the square of the count (1k: ~0.5 s, 5k: ~4.4 s, 20k: ~85 s, measured while writing this bench); 100k would take about half an hour and is not run. Automerge's (c) and (d) use the map built in one change.`,
    '',
    amCounter === undefined ? '' : `Automerge counter: its increments also grow quadratically (10k changes: ~3.8 s, 30k: ~31 s; 100k increments inside one change: 176 s, measured while writing this bench), so it runs at ${fmt(amCounter.n)} increments, once each: one change per increment ${ms(amCounter.perMs)} (aegis ${ms(small.counterPerMs)}, ${ratio(small.counterPerMs, amCounter.perMs)} faster), all in one change ${ms(amCounter.oneMs)} (aegis ${ms(small.counterOneMs)}, ${ratio(small.counterOneMs, amCounter.oneMs)} faster).`,
    '',
    '## (c) Full state: size, encode, load into an empty replica',
    '',
    `State of the ${QUICK ? '10k' : '100k'}-key map built with one transaction per set (Automerge: one change, see above): aegis \`encodeStateAsUpdate()\`, Yjs \`encodeStateAsUpdate\`, Loro \`export({ mode: "snapshot" })\`, Automerge \`save\`. "Load" applies it to an empty replica; "load + read" also materialises every value (\`toJSON\`), since Loro imports lazily.`,
    '',
    table(['', 'bytes', 'vs Yjs bytes', 'encode', 'load', 'load + read'],
      ORDER.map(n => [NAMES[n], bytes(s[n].bytes), `${fmt(s[n].bytes / yjsState, 2)}`, ms(s[n].encodeMs), ms(s[n].loadMs), ms(s[n].loadReadMs)])),
    '',
    `aegis full state is ${fmt(s.aegis.bytes / yjsState, 2)} of Yjs's bytes (target ≤ 0.50); load is ${ratio(s.aegis.loadMs, s.yjs.loadMs)} faster than Yjs and load + read ${ratio(s.aegis.loadReadMs, s.loro.loadReadMs)} faster than Loro.`,
    '',
    `## (d) Version-vector sync of the ${QUICK ? '10k' : '100k'}-key map to an empty replica`,
    '',
    'Bytes = state vector sent by the empty side + the answer (Automerge: all messages of its sync protocol). Time covers encoding the vector, computing the diff and applying it.',
    '',
    table(['', 'bytes', 'time', 'time vs aegis'], ORDER.map(n => [NAMES[n], bytes(y[n].bytes), ms(y[n].ms), n === 'aegis' ? '1×' : `${fmt(y[n].ms / y.aegis.ms, 2)}× slower`]))
  ].join('\n')
}

await suiteMain(import.meta.url, { jobs, measure, render })

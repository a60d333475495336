// Text benchmarks (issue 11, B4): the automerge-paper editing trace
// (test/fixtures/traces) replayed into aegis-replication's DocText, Yjs
// (Y.Text; v1 and v2 encodings), Loro (LoroText) and Automerge (a string
// field with splice), each contender and case in its own fresh process
// (see harness.mjs). Every case checks the final text against the trace's
// endContent before its figures count.
//
//   node --expose-gc bench/text.bench.mjs                                  (all, a process each)
//   node --expose-gc bench/text.bench.mjs --contender yjs [--json]         (one contender, here)
//
// Cases: 'b4' one edit per transaction, 'b4-txn' all edits in one
// transaction, 'b4x10' the trace appended ten times (each round edits after
// the previous rounds' text), one edit per transaction.
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import { check, table, ms, bytes, fmt, gc } from './util.mjs'
import { QUICK, suiteMain } from './harness.mjs'

const TRACE = fileURLToPath(new URL('../test/fixtures/traces/automerge-paper.json.gz', import.meta.url))
const CONTENDERS = ['aegis', 'yjs', 'loro', 'automerge']
const CASES = ['b4', 'b4-txn', 'b4x10']

/** The trace's edits (a prefix under BENCH_QUICK) and the text they produce. */
const loadTrace = (rounds) => {
  const { txns, endContent } = JSON.parse(gunzipSync(readFileSync(TRACE)).toString('utf8'))
  let edits = txns
  let text = endContent
  if (QUICK) {
    edits = txns.slice(0, 20_000)
    const chars = []
    for (const [pos, del, ins] of edits) chars.splice(pos, del, ...ins)
    text = chars.join('')
  }
  if (rounds === 1) return { edits, text }
  // round k edits after the text of rounds 0 … k-1
  const all = []
  for (let k = 0; k < rounds; k++) {
    const off = k * text.length
    for (const [pos, del, ins] of edits) all.push([pos + off, del, ins])
  }
  return { edits: all, text: text.repeat(rounds) }
}

/** Each contender: a fresh doc, one edit, a transaction around a function, the text, encode, load, sync. */
const adapters = async (name) => {
  if (name === 'aegis') {
    const lib = await import('../dist/index.js')
    return {
      create: () => new lib.Doc({ replicaId: 'a' }),
      edit: (d, pos, del, ins) => {
        const t = d.text('t')
        if (del > 0) t.delete(pos, del)
        if (ins.length > 0) t.insert(pos, ins)
      },
      transact: (d, fn) => d.transact(fn),
      text: (d) => d.text('t').toString(),
      encodings: (d) => ({ update: d.encodeStateAsUpdate() }),
      load: (u) => { const d = new lib.Doc({ replicaId: 'b' }); d.applyUpdate(u); return d },
      sync (from) {
        const to = new lib.Doc({ replicaId: 'b' })
        const sv = to.encodeStateVector()
        const u = from.encodeStateAsUpdate(sv)
        to.applyUpdate(u)
        return { to, bytes: sv.length + u.length }
      },
      free () {}
    }
  }
  if (name === 'yjs') {
    const Y = await import('yjs')
    return {
      create: () => { const d = new Y.Doc(); d.clientID = 1; return d },
      edit: (d, pos, del, ins) => {
        const t = d.getText('t')
        if (del > 0) t.delete(pos, del)
        if (ins.length > 0) t.insert(pos, ins)
      },
      transact: (d, fn) => d.transact(fn),
      text: (d) => d.getText('t').toString(),
      encodings: (d) => ({ update: Y.encodeStateAsUpdate(d), v2: Y.encodeStateAsUpdateV2(d) }),
      load: (u) => { const d = new Y.Doc(); Y.applyUpdate(d, u); return d },
      sync (from) {
        const to = new Y.Doc()
        const sv = Y.encodeStateVector(to)
        const u = Y.encodeStateAsUpdate(from, sv)
        Y.applyUpdate(to, u)
        return { to, bytes: sv.length + u.length }
      },
      free () {}
    }
  }
  if (name === 'loro') {
    const { LoroDoc } = await import('loro-crdt')
    // wasm: handles and docs hold memory until freed (see crdt.bench.mjs)
    const handles = new WeakMap()
    const textOf = (d) => { let t = handles.get(d); if (t === undefined) handles.set(d, t = d.getText('t')); return t }
    return {
      create: () => { const d = new LoroDoc(); d.setPeerId(1n); return d },
      edit: (d, pos, del, ins, commit = true) => {
        const t = textOf(d)
        if (del > 0) t.delete(pos, del)
        if (ins.length > 0) t.insert(pos, ins)
        if (commit) d.commit()
      },
      transact: (d, fn) => { fn(); d.commit() },
      text: (d) => textOf(d).toString(),
      encodings: (d) => ({ update: d.export({ mode: 'snapshot' }) }),
      load: (u) => { const d = new LoroDoc(); d.import(u); return d },
      sync (from) {
        const to = new LoroDoc()
        const vv = to.oplogVersion()
        const enc = vv.encode()
        const u = from.export({ mode: 'update', from: vv })
        to.import(u)
        return { to, bytes: enc.length + u.length }
      },
      free (d) { handles.get(d)?.free(); d.free() }
    }
  }
  const A = await import('@automerge/automerge')
  return {
    create: () => ({ doc: A.from({ t: '' }, { actor: '01' }), pending: null }),
    edit: (box, pos, del, ins) => {
      if (box.pending !== null) { box.pending.push([pos, del, ins]); return }
      box.doc = A.change(box.doc, (x) => { A.splice(x, ['t'], pos, del, ins) })
    },
    transact: (box, fn) => {
      box.pending = []
      fn()
      const edits = box.pending
      box.pending = null
      box.doc = A.change(box.doc, (x) => { for (const [pos, del, ins] of edits) A.splice(x, ['t'], pos, del, ins) })
    },
    text: (box) => box.doc.t,
    encodings: (box) => ({ update: A.save(box.doc) }),
    load: (u) => ({ doc: A.load(u), pending: null }),
    sync (from) {
      let to = A.init()
      let sFrom = A.initSyncState()
      let sTo = A.initSyncState()
      let total = 0
      for (let round = 0; round < 100; round++) {
        let msg
        ;[sTo, msg] = A.generateSyncMessage(to, sTo)
        if (msg) { total += msg.length; [from.doc, sFrom] = A.receiveSyncMessage(from.doc, sFrom, msg) }
        let back
        ;[sFrom, back] = A.generateSyncMessage(from.doc, sFrom)
        if (back) { total += back.length; [to, sTo] = A.receiveSyncMessage(to, sTo, back) }
        if (!msg && !back) break
      }
      return { to: { doc: to, pending: null }, bytes: total }
    },
    free () {}
  }
}

const memory = () => { const m = process.memoryUsage(); return m.heapUsed + m.external + m.arrayBuffers }

/** One (contender, case) in this process. */
export async function measure (job, { log }) {
  const c = await adapters(job.contender)
  const { edits, text } = loadTrace(job.case === 'b4x10' ? 10 : 1)
  log(`  [${job.contender}] ${job.case}: ${fmt(edits.length)} edits`)
  gc(); gc()
  const before = memory()
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const doc = c.create()
  if (job.case === 'b4-txn') {
    c.transact(doc, () => { for (const [pos, del, ins] of edits) c.edit(doc, pos, del, ins, false) })
  } else {
    for (const [pos, del, ins] of edits) c.edit(doc, pos, del, ins)
  }
  const applyMs = performance.now() - t0
  const cpu = process.cpuUsage(c0)
  check(c.text(doc) === text, `${job.contender} ${job.case}: final text equals the trace's endContent`)
  gc(); gc()
  const memBytes = memory() - before
  const encodings = c.encodings(doc)
  const sizes = Object.fromEntries(Object.entries(encodings).map(([k, v]) => [k, v.length]))
  // load the (v1 / main) encoding into an empty replica and read the text
  const loads = []
  for (let i = 0; i < (job.contender === 'automerge' && job.case === 'b4x10' ? 1 : 3); i++) {
    gc()
    const l0 = performance.now()
    const loaded = c.load(encodings.update)
    const read = c.text(loaded)
    loads.push(performance.now() - l0)
    check(read === text, `${job.contender} ${job.case}: loaded text equals the trace's`)
    c.free(loaded)
  }
  loads.sort((a, b) => a - b)
  let v2LoadMs
  if (encodings.v2 !== undefined) {
    const Y = await import('yjs')
    const l0 = performance.now()
    const d = new Y.Doc()
    Y.applyUpdateV2(d, encodings.v2)
    check(d.getText('t').toString() === text, 'yjs v2 load')
    v2LoadMs = performance.now() - l0
  }
  const s0 = performance.now()
  const synced = c.sync(doc)
  const syncMs = performance.now() - s0
  check(c.text(synced.to) === text, `${job.contender} ${job.case}: synced text equals the trace's`)
  return {
    edits: edits.length,
    applyMs,
    applyCpuMs: (cpu.user + cpu.system) / 1000,
    memBytes,
    sizes,
    loadMs: loads[Math.floor(loads.length / 2)],
    v2LoadMs,
    syncMs,
    syncBytes: synced.bytes
  }
}

/** Jobs: every case, contenders alternating. */
export function jobs () {
  const out = []
  for (const kase of CASES) for (const contender of CONTENDERS) out.push({ contender, case: kase })
  return out
}

/** The B4 section. */
export function render (outs) {
  const lines = ['## (m) Text: the automerge-paper trace (B4)', '',
    'The automerge-paper editing trace (259,778 single-character edits, final text 104,852 characters; `test/fixtures/traces/`), replayed through each library\'s text type. Each (contender, case) runs in its own fresh `node --expose-gc` process. *apply*: replaying every edit (wall time; CPU time in brackets); *memory*: heap + external + array buffers after GC with the doc alive, minus the same before (wasm memory counts as external); *encoded*: the full state (Yjs: `encodeStateAsUpdate`, v2 beside it; Loro: snapshot export; Automerge: `save`); *load*: decoding it into an empty replica and reading the text (median of 3); *sync*: a fresh replica syncing by state vector (Automerge: its sync protocol until quiet), time and bytes both ways. Every figure counts only after the text equals the trace\'s `endContent`.', '']
  const caseTitle = { b4: 'one edit per transaction', 'b4-txn': 'all edits in one transaction', b4x10: 'the trace appended ten times (B4×10), one edit per transaction' }
  for (const kase of CASES) {
    const rows = []
    for (const { job, result: r } of outs) {
      if (job.case !== kase) continue
      const enc = r.sizes.v2 !== undefined ? `${bytes(r.sizes.update)} (v2 ${bytes(r.sizes.v2)})` : bytes(r.sizes.update)
      const load = r.v2LoadMs !== undefined ? `${ms(r.loadMs)} (v2 ${ms(r.v2LoadMs)})` : ms(r.loadMs)
      rows.push([job.contender, `${ms(r.applyMs)} (${ms(r.applyCpuMs)})`, bytes(r.memBytes), enc, load, `${ms(r.syncMs)}, ${bytes(r.syncBytes)}`])
    }
    if (rows.length === 0) continue
    lines.push(`### ${caseTitle[kase]}`, '', table(['', 'apply (CPU)', 'memory', 'encoded', 'load + read', 'sync (time, bytes)'], rows), '')
  }
  return lines.join('\n')
}

export const title = '(m) text: the automerge-paper trace'
await suiteMain(import.meta.url, { title, jobs, measure, render })

// Replays the automerge-paper trace through the sequence core, one edit at a time.
// Usage: node --expose-gc bench/standalone/seq-trace.mjs [--yjs] [--reps N] [--trace path]
// Reports (min over N fresh runs for times): replay time, heap after GC with the doc
// alive, encoded full-state size, time to decode that encoding into an empty core
// and read the text. `--yjs` measures Yjs the same way (run it as its own process).
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'

const root = join(dirname(fileURLToPath(import.meta.url)), '../..')
const args = process.argv.slice(2)
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt }
const trace = opt('--trace', [join(root, 'test/fixtures/traces/automerge-paper.json.gz'), join(root, '../shared/data/automerge-paper.json.gz'), join(root, '../../shared/data/automerge-paper.json.gz')].find(existsSync))
const reps = Number(opt('--reps', 5))
const { txns, endContent } = JSON.parse(gunzipSync(readFileSync(trace)).toString())
const gc = globalThis.gc ?? (() => { throw new Error('run with node --expose-gc') })
const heap = () => { gc(); gc(); return process.memoryUsage().heapUsed }
const kb = n => `${(n / 1024).toFixed(0)} KB`

let impl
if (args.includes('--yjs')) {
  const Y = await import('yjs')
  impl = {
    name: 'yjs',
    replay () {
      const doc = new Y.Doc()
      const text = doc.getText('text')
      for (const [pos, del, ins] of txns) {
        if (del > 0) text.delete(pos, del)
        if (ins.length > 0) text.insert(pos, ins)
      }
      return doc
    },
    text: doc => doc.getText('text').toString(),
    encode: doc => Y.encodeStateAsUpdateV2(doc),
    load (bytes) { const d = new Y.Doc(); Y.applyUpdateV2(d, bytes); return d.getText('text').toString() }
  }
} else {
  const esbuild = await import('esbuild')
  const out = join(mkdtempSync(join(tmpdir(), 'seq-bench-')), 'seq.mjs')
  await esbuild.build({ entryPoints: [join(root, 'src/seq/index.ts')], bundle: true, format: 'esm', outfile: out, logLevel: 'warning' })
  const seq = await import(out)
  const encoding = await import('lib0/encoding')
  const { createDecoder } = await import('lib0/decoding')
  const cmp = (a, b) => a - b
  impl = {
    name: 'aegis-seq',
    replay () {
      const a = seq.createSequence({ kind: 'text', compareReplicas: cmp })
      let s = 0
      for (const [pos, del, ins] of txns) {
        if (del > 0) a.delete(pos, del)
        if (ins.length > 0) { a.insert(pos, ins, 0, s); s += ins.length }
      }
      return a
    },
    text: a => a.toString(),
    encode (a) {
      const e = encoding.createEncoder()
      seq.writeSeqRuns(e, a.runsSince(() => false), r => r)
      seq.writeIdRanges(e, a.deleteSet(), r => r)
      return encoding.toUint8Array(e)
    },
    load (bytes) {
      const d = createDecoder(bytes)
      const runs = seq.readSeqRuns(d, 1)
      const dels = seq.readIdRanges(d, 1)
      const b = seq.createSequence({ kind: 'text', compareReplicas: cmp })
      for (const run of runs) b.integrate(run)
      b.applyDeletes(dels)
      return b.toString()
    }
  }
}

// heap: the doc alone (its text read once, as an editor would), measured in a clean state
let doc = impl.replay()
const ok1 = impl.text(doc) === endContent
const bytes = impl.encode(doc)
const withDoc = heap()
doc = null
const mem = withDoc - heap()
// wall time and CPU time (the machine may be shared: CPU time is steadier)
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }
const replay = []
const load = []
let ok2 = true
for (let i = 0; i < reps; i++) {
  const t0 = performance.now()
  const c0 = cpu()
  impl.replay()
  replay.push([performance.now() - t0, cpu() - c0])
  const t1 = performance.now()
  const c1 = cpu()
  ok2 &&= impl.load(bytes) === endContent
  load.push([performance.now() - t1, cpu() - c1])
}
const ms = a => `wall ${Math.min(...a.map(x => x[0])).toFixed(0)} ms, cpu ${Math.min(...a.map(x => x[1])).toFixed(0)} ms (first: wall ${a[0][0].toFixed(0)}, cpu ${a[0][1].toFixed(0)})`
console.log(JSON.stringify({ impl: impl.name, replay: ms(replay), heap: kb(mem), encoded: bytes.length, load: ms(load), ok: ok1 && ok2 }))

// Minimal Yjs replay of the automerge-paper trace, one edit per transaction
// (Yjs's documented Y.Text API only), for the cross-check of bench (m).
import * as Y from 'yjs'
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
const { txns, endContent } = JSON.parse(gunzipSync(readFileSync(new URL('../../test/fixtures/traces/automerge-paper.json.gz', import.meta.url))).toString())
const cpu = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000 }
const runs = []
for (let r = 0; r < 3; r++) {
  globalThis.gc?.()
  const c0 = cpu(); const t0 = performance.now()
  const d = new Y.Doc()
  const t = d.getText('t')
  for (const [pos, del, ins] of txns) { if (del > 0) t.delete(pos, del); if (ins.length > 0) t.insert(pos, ins) }
  runs.push({ ms: performance.now() - t0, cpuMs: cpu() - c0 })
  if (t.toString() !== endContent) throw new Error('wrong text')
  d.destroy()
}
runs.sort((a, b) => a.cpuMs - b.cpuMs)
console.log(JSON.stringify({ key: 'b4', n: txns.length, ...runs[1] }))

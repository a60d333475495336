// Minimal Automerge replay of the automerge-paper trace, one change per edit
// (A.change + A.splice on a string field), for the cross-check of bench (m).
import * as A from '@automerge/automerge'
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
const { txns, endContent } = JSON.parse(gunzipSync(readFileSync(new URL('../../test/fixtures/traces/automerge-paper.json.gz', import.meta.url))).toString())
const n = Number(process.argv[2] ?? txns.length)
const cpu = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000 }
const c0 = cpu(); const t0 = performance.now()
let d = A.from({ t: '' })
for (const [pos, del, ins] of txns.slice(0, n)) d = A.change(d, (x) => { A.splice(x, ['t'], pos, del, ins) })
const out = { key: 'b4', n, ms: performance.now() - t0, cpuMs: cpu() - c0 }
if (n === txns.length && d.t !== endContent) throw new Error('wrong text')
console.log(JSON.stringify(out))

import { LoroDoc } from 'loro-crdt'
const N = Number(process.argv[3] ?? 100000)
const cpu = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000 }
const keep = process.argv[2] === 'keep'
let last, lastMap
const held = []
for (let r = 0; r < Number(process.argv[4] ?? 6); r++) {
  globalThis.gc?.()
  const c0 = cpu(); const t0 = performance.now()
  const d = new LoroDoc()
  d.setPeerId(1n)
  const m = d.getMap('m')
  for (let i = 0; i < N; i++) { m.set('key-' + i, i); d.commit() }
  if (process.argv[2] === 'free') { last?.free(); lastMap?.free() }
  lastMap = m
  last = d
  if (keep) held.push(d)
  console.log(r, 'cpu', (cpu() - c0).toFixed(0), 'wall', (performance.now() - t0).toFixed(0), 'rss MB', (process.memoryUsage().rss / 1e6).toFixed(0))
}

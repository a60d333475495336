// The standalone cross-check of (a), (b) and (m): for Loro, Yjs and Automerge, the
// bench's own code for an operation (crdt.bench.mjs, `only: 'ab'`) against a
// minimal script using only the library's documented API
// (bench/standalone/*.mjs), each in its own fresh process. A bench figure well
// above the standalone one is a bug in the bench, not a property of the library.
// CPU time (all threads of the process) is compared: it is far less sensitive
// than wall time to other load on the machine.
//
//   node --expose-gc bench/crosscheck.bench.mjs
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { fmt, ms, table } from './util.mjs'
import { QUICK, suiteMain } from './harness.mjs'

const N = QUICK ? 10_000 : 100_000
const LIBS = {
  loro: { name: 'Loro', script: 'loro-map-counter.mjs', args: [N], b4: 'loro-b4.mjs' },
  yjs: { name: 'Yjs', script: 'yjs-map.mjs', args: [N], b4: 'yjs-b4.mjs' },
  // the sizes crdt.bench.mjs runs Automerge at
  automerge: { name: 'Automerge', script: 'automerge-map-counter.mjs', args: QUICK ? [500, N, 1_000] : [5_000, N, 10_000], b4: 'automerge-b4.mjs' }
}
const OPS = { mapPerTxn: 'map sets, one transaction each', mapOneTxn: 'map sets, all in one transaction', counterPerTxn: 'counter +1, one transaction each', counterOneTxn: 'counter +1, all in one transaction', b4: 'the B4 text trace, one edit per transaction (m)' }

export const title = 'standalone cross-check of (a), (b) and (m)'

/** The bench's code and the standalone script alternate, library by library. */
export const jobs = () => Object.keys(LIBS).flatMap((contender) => [{ contender, side: 'bench' }, { contender, side: 'standalone' }])

/** Per operation: { n, ms, cpuMs }. */
export async function measure ({ contender, side }, { log = console.log } = {}) {
  if (side === 'standalone') {
    const { script, args } = LIBS[contender]
    log(`  standalone ${script} ${args.join(' ')}`)
    const out = execFileSync(process.execPath, [fileURLToPath(new URL(`./standalone/${script}`, import.meta.url)), ...args.map(String)], { encoding: 'utf8', env: { ...process.env, BENCH_QUICK: '' } })
    const lines = out.trim().split('\n').map((l) => JSON.parse(l))
    if (!QUICK) {
      log(`  standalone ${LIBS[contender].b4}`)
      const b4 = execFileSync(process.execPath, ['--expose-gc', fileURLToPath(new URL(`./standalone/${LIBS[contender].b4}`, import.meta.url))], { encoding: 'utf8' })
      lines.push(JSON.parse(b4.trim()))
    }
    return Object.fromEntries(lines.map((l) => [l.key, { n: l.n, ms: l.ms, cpuMs: l.cpuMs }]))
  }
  // the bench's own repetitions (warm-up + median of 5) even in a quick run, or the ratios would compare a cold run with a median
  process.env.BENCH_QUICK = ''
  const crdt = await import('./crdt.bench.mjs')
  const r = await crdt.measure({ contender, only: 'ab' }, { log })
  const x = {}
  for (const op of Object.keys(OPS)) if (r[op] !== undefined) x[op] = { n: N, ms: r[op], cpuMs: r.cpu[op] }
  if (r.mapPerTxnSmall) x.mapPerTxn = { n: r.mapPerTxnSmall.n, ms: r.mapPerTxnSmall.ms, cpuMs: r.mapPerTxnSmall.cpuMs }
  if (r.counterSmall) {
    x.counterPerTxn = { n: r.counterSmall.n, ms: r.counterSmall.perMs, cpuMs: r.counterSmall.perCpuMs }
    x.counterOneTxn = { n: r.counterSmall.n, ms: r.counterSmall.oneMs, cpuMs: r.counterSmall.oneCpuMs }
  }
  if (!QUICK) {
    // bench (m)'s own code for the trace (one run, as text.bench.mjs measures it)
    const text = await import('./text.bench.mjs')
    const t = await text.measure({ contender, case: 'b4' }, { log })
    x.b4 = { n: t.edits, ms: t.applyMs, cpuMs: t.applyCpuMs }
  }
  return x
}

export function render (outs) {
  const rows = []
  const flagged = []
  for (const lib of Object.keys(LIBS)) {
    const bench = outs.find((o) => o.job.contender === lib && o.job.side === 'bench')?.result ?? {}
    const alone = outs.find((o) => o.job.contender === lib && o.job.side === 'standalone')?.result ?? {}
    for (const [op, label] of Object.entries(OPS)) {
      const b = bench[op]
      const a = alone[op]
      if (b === undefined || a === undefined) continue
      const q = b.cpuMs / a.cpuMs
      if (q > 1.5) flagged.push(`${LIBS[lib].name} ${label}`)
      rows.push([LIBS[lib].name, `${label} (${fmt(b.n)})`, ms(b.ms), ms(b.cpuMs), ms(a.ms), ms(a.cpuMs), `${fmt(q, 2)}×`])
    }
  }
  return [
    '## Standalone cross-check of (a), (b) and (m)',
    '',
    `Each competitor's (a)/(b) figure from this bench's code (\`crdt.bench.mjs\`, in a fresh process) next to a minimal script using only the library's documented API (\`bench/standalone/*.mjs\`, a fresh process too; median of 3 runs, Automerge one run; the B4 trace: the bench's single run against the standalone median of 3 (Automerge one run); Loro docs and container handles freed after each run in both). CPU = user + system time of the process during the run, which other load on the machine disturbs much less than wall time; a bench CPU time far above the standalone one would be a bug in the bench.`,
    '',
    table(['library', 'operation (count)', 'bench', 'bench CPU', 'standalone', 'standalone CPU', 'bench CPU ÷ standalone CPU'], rows),
    '',
    flagged.length === 0 ? 'Every bench figure is within 1.5× of its standalone script\'s (CPU time).' : `**Check the bench**: bench CPU more than 1.5× the standalone script's for ${flagged.join(', ')}.`
  ].join('\n')
}

await suiteMain(import.meta.url, { jobs, measure, render })

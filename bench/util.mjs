// Shared helpers of the benchmarks: timing, formatting, machine description.
import { cpus, totalmem, platform, release, arch } from 'node:os'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/** Runs the garbage collector when node was started with --expose-gc. */
export const gc = () => { if (typeof globalThis.gc === 'function') globalThis.gc() }

/**
 * Times `fn` `runs` times (after `warmup` untimed runs; `dispose` frees the
 * result of one run, untimed, before the next) and returns the
 * median in milliseconds (wall clock, and CPU time as cpuMs) plus the last
 * result (for verification).
 */
export const timeIt = (fn, { runs = 5, warmup = 1, budgetMs = 20_000, dispose } = {}) => {
  // BENCH_QUICK=1 checks the bench itself: one timed run, no warm-up
  if (process.env.BENCH_QUICK === '1') { runs = 1; warmup = 0 }
  let result
  // `dispose(previous)` releases a result before the next run (wasm docs hold memory until freed)
  const next = () => { if (result !== undefined) dispose?.(result); result = undefined }
  for (let i = 0; i < warmup; i++) { next(); result = fn() }
  const times = []
  const cpu = []
  let spent = 0
  // slow contenders get fewer (at least 3) runs so the whole bench stays short
  for (let i = 0; i < runs && (i < Math.min(3, runs) || spent < budgetMs); i++) {
    next()
    gc()
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    result = fn()
    const t = performance.now() - t0
    const c = process.cpuUsage(c0)
    times.push(t)
    cpu.push((c.user + c.system) / 1000)
    spent += t
  }
  times.sort((a, b) => a - b)
  cpu.sort((a, b) => a - b)
  // cpuMs: CPU time of this process (all its threads), less sensitive than ms to other load on the machine
  return { ms: times[Math.floor(times.length / 2)], cpuMs: cpu[Math.floor(cpu.length / 2)], min: times[0], max: times[times.length - 1], result }
}

/** Throws when a benchmark's outcome is wrong: a fast wrong answer is not a result. */
export const check = (cond, what) => { if (!cond) throw new Error(`benchmark verification failed: ${what}`) }

export const fmt = (n, digits = 0) => Number(n).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
export const ms = (n) => `${fmt(n, n < 10 ? 2 : 1)} ms`
export const bytes = (n) => `${fmt(n)} B`
export const ratio = (ours, theirs) => `${fmt(theirs / ours, 2)}×`

/** A markdown table from a header row and body rows. */
export const table = (header, rows) => [
  `| ${header.join(' | ')} |`,
  `|${header.map(() => '---').join('|')}|`,
  ...rows.map(r => `| ${r.join(' | ')} |`)
].join('\n')

/** The installed version of a package (from its package.json). */
export const versionOf = (name) => {
  try {
    return JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version
  } catch {
    const main = require.resolve(name)
    const dir = main.slice(0, main.lastIndexOf(`node_modules/${name}/`) + `node_modules/${name}/`.length)
    return JSON.parse(readFileSync(`${dir}package.json`, 'utf8')).version
  }
}

/** One line describing the machine the figures come from. */
export const machine = () => {
  const c = cpus()
  return `${c[0]?.model.trim() ?? 'unknown CPU'} (${c.length} cores), ${fmt(totalmem() / 2 ** 30, 1)} GiB RAM, ${platform()} ${release()} ${arch()}, Node ${process.version}`
}

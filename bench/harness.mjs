// One fresh Node process per (suite, contender): a suite lists its jobs
// (each names a contender), the parent spawns `node --expose-gc <suite>
// --contender <c> --job <json> --json` for each, in the suite's order, and
// renders the suite's markdown from the collected results. Long-lived docs,
// JIT state and wasm heaps of one library never share a process with another.
//
// A suite module exports:
//   title                       one line for logs and the RESULTS.md header
//   jobs()                      [{ contender, ...params }] in run order (alternate contenders for fairness)
//   measure(job, { log })       runs in the child; resolves to JSON-serialisable results
//   render(outs)                outs = [{ job, result }] in job order → markdown
//   limits?(job)                optional: { fds } the child needs (open files)
//   rendersSkipped?             true when render() handles { skipped } results itself
import { spawn, execFileSync } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** BENCH_QUICK=1 shrinks every workload (a whole run in well under 2 min) to check the bench itself. */
export const QUICK = process.env.BENCH_QUICK === '1'
const MARK = '@@bench-result '
/** A job still running after this many seconds is killed and reported as not run (BENCH_JOB_TIMEOUT_S). */
export const JOB_TIMEOUT_S = Number(process.env.BENCH_JOB_TIMEOUT_S ?? 900)

/** The soft and hard open-file limits of a shell started from here (numbers; Infinity for unlimited). */
const fdLimits = () => {
  const num = (s) => s.trim() === 'unlimited' ? Infinity : Number(s.trim())
  try {
    return { soft: num(execFileSync('sh', ['-c', 'ulimit -Sn'], { encoding: 'utf8' })), hard: num(execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' })) }
  } catch {
    return { soft: 1024, hard: 1024 }
  }
}

/**
 * Runs one job in a fresh `node --expose-gc` process; resolves to its result,
 * or to `{ skipped: reason }` when the machine cannot give it what it needs.
 */
export const runJob = (file, job, suite, { log = console.log } = {}) => new Promise((resolve, reject) => {
  const args = ['--expose-gc', file, '--contender', job.contender, '--job', JSON.stringify(job), '--json']
  let cmd = process.execPath
  let argv = args
  const need = suite.limits?.(job)?.fds
  if (need !== undefined) {
    const { soft, hard } = fdLimits()
    if (soft < need) {
      if (hard < need) { resolve({ skipped: `needs ${need} open files; ulimit -n is ${soft} (hard limit ${hard})` }); return }
      // raise the child's own soft limit: a shell that sets it, then execs node
      cmd = 'sh'
      argv = ['-c', `ulimit -n ${need} && exec "$0" "$@"`, process.execPath, ...args]
    }
  }
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'], env: process.env, detached: true })
  let result
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    log(`  [${job.contender}] ${JSON.stringify(job)} still running after ${JOB_TIMEOUT_S} s: killed (BENCH_JOB_TIMEOUT_S raises the limit)`)
    // the job's own servers and browsers are in its process group
    try { process.kill(-child.pid, 'SIGKILL') } catch { child.kill('SIGKILL') }
  }, JOB_TIMEOUT_S * 1000)
  let buf = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (d) => {
    buf += d
    let nl
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      if (line.startsWith(MARK)) result = JSON.parse(line.slice(MARK.length))
      else log(line)
    }
  })
  child.once('error', reject)
  child.once('exit', (code, signal) => {
    clearTimeout(timer)
    if (timedOut) resolve({ skipped: `timed out after ${JOB_TIMEOUT_S} s` })
    else if (code === 0 && result !== undefined) resolve(result)
    else reject(new Error(`bench child ${JSON.stringify(job)} of ${file} failed (exit ${code ?? signal})`))
  })
})

/** Runs every job of a suite, each in its own process; resolves to `{ markdown, outs }`. */
export const runSuite = async (file, { log = console.log, suite } = {}) => {
  suite ??= await import(pathToFileURL(file).href)
  const outs = []
  for (const job of suite.jobs()) {
    const t0 = performance.now()
    const result = await runJob(file, job, suite, { log })
    if (result?.skipped) log(`  [${job.contender}] skipped: ${result.skipped}`)
    else log(`  [${job.contender}] ${JSON.stringify(job)} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    outs.push({ job, result })
  }
  // suites that do not say they render skipped jobs get only the jobs that ran, and a line per skipped one
  if (suite.rendersSkipped === true) return { markdown: suite.render(outs), outs }
  const ran = outs.filter(o => o.result?.skipped === undefined)
  const notes = outs.filter(o => o.result?.skipped !== undefined)
    .map(o => `\n*Not run: ${o.job.contender} ${JSON.stringify(o.job)} — ${o.result.skipped}.*\n`)
  return { markdown: suite.render(ran) + notes.join(''), outs }
}

const argOf = (name) => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

/**
 * The command line of a suite file (call at its end with `import.meta.url`):
 * `--contender c [--job json] --json` measures in this process (the child);
 * without them it runs the whole suite, a process per job, and prints the markdown.
 */
export const suiteMain = async (url, suite) => {
  if (process.argv[1] === undefined || url !== pathToFileURL(process.argv[1]).href) return
  const contender = argOf('--contender')
  if (contender !== undefined) {
    const jobArg = argOf('--job')
    const jobs = jobArg !== undefined ? [JSON.parse(jobArg)] : suite.jobs().filter((j) => j.contender === contender)
    if (jobs.length === 0) throw new Error(`no job for contender '${contender}'; jobs: ${JSON.stringify(suite.jobs())}`)
    const log = (...a) => console.error(...a) // stdout carries the result
    const results = []
    for (const job of jobs) results.push(await suite.measure(job, { log }))
    const result = jobArg !== undefined ? results[0] : results
    if (process.argv.includes('--json')) process.stdout.write(`${MARK}${JSON.stringify(result)}\n`)
    else console.log(JSON.stringify(result, null, 2))
  } else {
    const { markdown } = await runSuite(fileURLToPath(url), { suite })
    console.log(markdown)
  }
  process.exit(0)
}

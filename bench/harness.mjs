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
import { spawn, execFileSync } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** BENCH_QUICK=1 shrinks every workload (a whole run in well under 2 min) to check the bench itself. */
export const QUICK = process.env.BENCH_QUICK === '1'
const MARK = '@@bench-result '

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
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'], env: process.env })
  let result
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
    if (code === 0 && result !== undefined) resolve(result)
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
  return { markdown: suite.render(outs), outs }
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

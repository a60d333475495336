#!/usr/bin/env node
// `npm test`: makes sure Debian's Chromium is there for the browser tests
// (installs it when running as root, otherwise says what to run), builds the
// bundles the browser tests load, runs vitest, and ends with one plain line
// `N passed, N failed` that CI reads.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const root = new URL('..', import.meta.url).pathname
const args = process.argv.slice(2)

const run = (cmd, argv, opts = {}) => {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', cwd: root, ...opts })
  if (r.error) throw r.error
  return r.status ?? 1
}

const browserDir = join(root, 'test/browser')
const hasBrowserTests = existsSync(browserDir) && readdirSync(browserDir).some(f => f.endsWith('.test.ts'))
const wantsBrowser = hasBrowserTests && process.env.AEGIS_SKIP_BROWSER !== '1'

if (wantsBrowser && !existsSync(CHROMIUM)) {
  if (process.getuid?.() === 0) {
    console.log(`[test] ${CHROMIUM} is missing: installing Debian's chromium (apt-get, about a minute)`)
    if (run('apt-get', ['update', '-qq']) !== 0 || run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }) !== 0) {
      console.error('[test] apt-get install chromium failed; install it and rerun npm test')
      process.exit(1)
    }
  } else {
    console.error(`[test] the browser tests need Debian's Chromium at ${CHROMIUM}. Run as root:\n\n    apt-get update && apt-get install -y chromium\n\nthen rerun npm test (or set AEGIS_SKIP_BROWSER=1 to skip the browser tests).`)
    process.exit(1)
  }
}

if (wantsBrowser) {
  console.log('[test] building dist/ for the browser tests')
  if (run('npx', ['rollup', '-c', '--silent']) !== 0) process.exit(1)
}

mkdirSync(join(root, 'test-results'), { recursive: true })
const report = join(root, 'test-results/vitest.json')
const status = run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args], {
  env: { ...process.env, AEGIS_SKIP_BROWSER: wantsBrowser ? '0' : '1' }
})

let passed = 0
let failed = 0
let skipped = 0
try {
  const r = JSON.parse(readFileSync(report, 'utf8'))
  passed = r.numPassedTests
  failed = r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0)
  skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)
  if (r.numTotalTests === 0) failed += 1
} catch {
  failed += 1
}
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`)
process.exit(status !== 0 ? status : failed > 0 ? 1 : 0)

// (i) IndexedDB in Chromium: time to load a doc from 10,000 stored updates,
// before and after compaction, for our IndexedDBPersistence (dist/indexeddb.js)
// and y-indexeddb. Both are bundled by rollup for the browser, served from
// 127.0.0.1 and run in headless Debian Chromium through playwright-core.
//
// Each round of each library is a job of its own (harness.mjs): a fresh Node
// process with its own Chromium, whose page loads only that library.
//
//   node bench/idb.bench.mjs      (or --contender aegis|yjs --job '{"contender":"yjs","round":0}' --json)
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleForBrowser, CHROMIUM, CHROMIUM_BASE_ARGS } from './browser-bundle.mjs'
import { chromium } from 'playwright-core'
import { check, fmt, ms, table, versionOf } from './util.mjs'
import { QUICK, suiteMain } from './harness.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DIST = join(ROOT, 'dist/index.js')
const DIST_IDB = join(ROOT, 'dist/indexeddb.js')
const N = QUICK ? 1_000 : 10_000 // more than compactAfter: 500, so loads compact
const ROUNDS = QUICK ? 1 : 3

// see /work/shared/TOOLCHAIN.md; --expose-gc lets the page collect garbage before each timed load
const CHROMIUM_ARGS = [
  ...CHROMIUM_BASE_ARGS,
  '--js-flags=--expose-gc'
]



// The page: one module that runs a round of each library and hands back plain numbers.
const PAGE_JS = `
import * as A from '/aegis.js'
import * as YI from '/yjs.js'
const { Y, IndexeddbPersistence, storeState } = YI
const N = ${N}
const SUM = N * (N - 1) / 2
const gc = () => { if (typeof globalThis.gc === 'function') globalThis.gc() }
const req = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error) })
const sleep = (t) => new Promise(resolve => setTimeout(resolve, t))

/** Records in the 'updates' store of database name, through a raw connection of its own. */
const countRecords = async (name) => {
  const db = await req(indexedDB.open(name))
  try {
    return await req(db.transaction('updates', 'readonly').objectStore('updates').count())
  } finally {
    db.close()
  }
}
const waitForCount = async (name, pred, what) => {
  const t0 = performance.now()
  for (;;) {
    const n = await countRecords(name)
    if (pred(n)) return n
    if (performance.now() - t0 > 20000) throw new Error(what + ': still ' + n + ' records after 20 s')
    await sleep(20)
  }
}
const deleteDb = (name) => req(indexedDB.deleteDatabase(name))
/** Timed, for reference: a raw connection reading every record with one getAll (no decoding). */
const rawGetAll = async (name) => {
  gc()
  const t0 = performance.now()
  const db = await req(indexedDB.open(name))
  const records = await req(db.transaction('updates', 'readonly').objectStore('updates').getAll())
  const t = performance.now() - t0
  db.close()
  return { ms: t, records: records.length }
}

// ----------------------------------------------------------------- aegis
const aegisErrors = []
const aegisOpen = (name, doc, compactAfter) => {
  const p = new A.IndexedDBPersistence(name, doc, { compactAfter })
  p.on('error', (e) => aegisErrors.push(String(e && e.message)))
  return p
}
/** Timed: construct the persistence, wait for whenSynced, read every value. */
const aegisLoad = async (name) => {
  const doc = new A.Doc()
  gc()
  const t0 = performance.now()
  const p = aegisOpen(name, doc, 1e9)
  await p.whenSynced
  const m = doc.map('m')
  let sum = 0
  for (const v of m.values()) sum += v
  const size = m.size
  const t = performance.now() - t0
  const last = m.get('key-' + (N - 1))
  await p.destroy()
  return { ms: t, size, sum, last }
}
const aegisRound = async (round) => {
  const name = 'bench-a-' + round
  await deleteDb(name)
  // write: no compaction while writing
  const doc = new A.Doc()
  const p = aegisOpen(name, doc, 1e9)
  await p.whenSynced
  const t0 = performance.now()
  for (let i = 0; i < N; i++) doc.map('m').set('key-' + i, i)
  await p.flush()
  const writeMs = performance.now() - t0
  await p.destroy()
  const stored = await countRecords(name)
  const before = await aegisLoad(name)
  const afterFirstLoad = await countRecords(name)
  const raw = await rawGetAll(name)
  // compaction: a load that finds more than compactAfter records merges them
  const cdoc = new A.Doc()
  const cp = aegisOpen(name, cdoc, 500)
  await cp.whenSynced
  await cp.flush()
  await cp.destroy()
  const compacted = await waitForCount(name, (n) => n < 10, 'aegis compaction')
  const after = await aegisLoad(name)
  const afterSecondLoad = await countRecords(name)
  await deleteDb(name)
  return { writeMs, stored, before, raw, afterFirstLoad, compacted, after, afterSecondLoad, errors: aegisErrors.splice(0) }
}

// ----------------------------------------------------------------- y-indexeddb
const yLoad = async (name) => {
  const ydoc = new Y.Doc()
  gc()
  const t0 = performance.now()
  const p = new IndexeddbPersistence(name, ydoc)
  await p.whenSynced
  const ymap = ydoc.getMap('m')
  let sum = 0
  ymap.forEach((v) => { sum += v })
  const size = ymap.size
  const t = performance.now() - t0
  const last = ymap.get('key-' + (N - 1))
  await p.destroy()
  return { ms: t, size, sum, last }
}
const yRound = async (round) => {
  const name = 'bench-y-' + round
  await deleteDb(name)
  const ydoc = new Y.Doc()
  const p = new IndexeddbPersistence(name, ydoc)
  await p.whenSynced // updates made before its db is open are not stored one by one
  const t0 = performance.now()
  const ymap = ydoc.getMap('m')
  for (let i = 0; i < N; i++) ymap.set('key-' + i, i)
  // Past 500 records y-indexeddb compacts 1 s after the last update (debounced);
  // destroy() cancels that timer, and close() lets the 10,000 queued add transactions finish.
  await p.destroy()
  // a raw read transaction is ordered after those readwrite ones: it sees them all
  const stored = await countRecords(name)
  const writeMs = performance.now() - t0
  const before = await yLoad(name)
  const afterFirstLoad = await countRecords(name)
  const raw = await rawGetAll(name)
  // compaction: what the debounced timer runs (storeState), on a fresh load
  const cdoc = new Y.Doc()
  const cp = new IndexeddbPersistence(name, cdoc)
  await cp.whenSynced
  storeState(cp, false)
  const compacted = await waitForCount(name, (n) => n < 10, 'y-indexeddb compaction')
  await cp.destroy()
  const after = await yLoad(name)
  const afterSecondLoad = await countRecords(name)
  await deleteDb(name)
  return { writeMs, stored, before, raw, afterFirstLoad, compacted, after, afterSecondLoad, errors: [] }
}

window.bench = { aegisRound, yRound, hasGc: typeof globalThis.gc === 'function' }
`

const HTML = '<!doctype html><meta charset="utf-8"><title>idb bench</title><script type="module" src="/page.js"></script>'

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** Serves `files` (path → [type, body]) on 127.0.0.1, a free port. */
const serve = (files) => new Promise((resolve, reject) => {
  const server = createServer((req, res) => {
    const f = files[new URL(req.url, 'http://x').pathname]
    if (f === undefined) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': f[0], 'cache-control': 'no-store' }).end(f[1])
  })
  server.on('error', reject)
  server.listen(0, '127.0.0.1', () => resolve(server))
})

export const title = '(i) IndexedDB load in Chromium'

/** ROUNDS rounds, alternating which library goes first; each round of each library is its own process. */
export const jobs = () => Array.from({ length: ROUNDS }, (_, round) =>
  (round % 2 === 0 ? ['aegis', 'yjs'] : ['yjs', 'aegis']).map((contender) => ({ contender, round }))).flat()

/** One round of one library, in its own Chromium whose page loads only that library. */
export async function measure ({ contender: who, round: r }, { log = console.log } = {}) {
  if (!existsSync(DIST) || !existsSync(DIST_IDB)) {
    log('[idb] dist/ is missing: building it with `npx rollup -c`')
    execFileSync('npx', ['rollup', '-c', '--silent'], { cwd: ROOT, stdio: 'ignore' })
  }
  check(existsSync(CHROMIUM), `${CHROMIUM} exists (apt-get install chromium)`)

  // the other library's module is empty: this page loads one library only
  const lib = who === 'aegis'
    ? await bundleForBrowser(`export { Doc } from ${JSON.stringify(DIST)}\nexport { IndexedDBPersistence } from ${JSON.stringify(DIST_IDB)}`, { core: true })
    : await bundleForBrowser("export * as Y from 'yjs'\nexport { IndexeddbPersistence, storeState } from 'y-indexeddb'")

  const server = await serve({
    '/': ['text/html; charset=utf-8', HTML],
    '/page.js': ['text/javascript', PAGE_JS],
    '/aegis.js': ['text/javascript', who === 'aegis' ? lib.code : 'export {}'],
    '/yjs.js': ['text/javascript', who === 'yjs' ? lib.code : 'export {}']
  })
  const origin = `http://127.0.0.1:${server.address().port}`
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true })
  let x
  let hasGc
  let browserVersion
  try {
    browserVersion = browser.version()
    const context = await browser.newContext()
    // only 127.0.0.1
    await context.route((url) => !url.href.startsWith(origin), (route) => route.abort())
    const page = await context.newPage()
    const pageErrors = []
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto(`${origin}/`)
    await page.waitForFunction(() => window.bench !== undefined, null, { timeout: 15_000 })
      .catch((e) => { throw new Error(`the bench page did not start: ${pageErrors.join('; ') || e.message}`) })
    hasGc = await page.evaluate(() => window.bench.hasGc)
    x = await page.evaluate(([fn, i]) => window.bench[fn](i), [who === 'aegis' ? 'aegisRound' : 'yRound', r])
    log(`[idb] round ${r + 1}/${ROUNDS}, ${who}: ${ms(x.before.ms)} → ${ms(x.after.ms)}`)
    check(pageErrors.length === 0, `no page errors (${pageErrors.join('; ')})`)
  } finally {
    await browser.close()
    await new Promise((resolve) => server.close(resolve))
  }

  // --- verification: every load holds all N values
  const SUM = N * (N - 1) / 2
  const what = `round ${r + 1}, ${who}`
  check(x.errors.length === 0, `${what}: no persistence errors (${x.errors.join('; ')})`)
  check(x.stored >= N, `${what}: ${fmt(x.stored)} records stored (≥ ${fmt(N)})`)
  for (const phase of ['before', 'after']) {
    const l = x[phase]
    check(l.size === N && l.sum === SUM && l.last === N - 1, `${what}, ${phase} compaction: loaded ${l.size} values, sum ${l.sum}, last ${l.last}`)
  }
  check(x.compacted < 10, `${what}: compacted to ${x.compacted} records`)
  check(x.raw.records === x.afterFirstLoad, `${what}: raw getAll read ${x.raw.records} records`)
  return { ...x, hasGc, browserVersion }
}

/** The `## (i)` section from every round of both libraries. */
export function render (outs) {
  const rounds = Array.from({ length: ROUNDS }, (_, r) => Object.fromEntries(outs.filter((o) => o.job.round === r).map((o) => [o.job.contender, o.result])))
  const hasGc = outs.every((o) => o.result.hasGc)
  const browserVersion = outs[0].result.browserVersion
  const summarize = (who) => {
    const xs = rounds.map((r) => r[who])
    const pick = (f) => xs.map(f)
    const stat = (f) => ({ ms: median(pick(f)), min: Math.min(...pick(f)), max: Math.max(...pick(f)) })
    return {
      write: stat((x) => x.writeMs),
      before: stat((x) => x.before.ms),
      rawGetAll: stat((x) => x.raw.ms),
      after: stat((x) => x.after.ms),
      records: {
        stored: median(pick((x) => x.stored)),
        afterFirstLoad: median(pick((x) => x.afterFirstLoad)),
        compacted: median(pick((x) => x.compacted)),
        afterSecondLoad: median(pick((x) => x.afterSecondLoad))
      },
      rounds: xs
    }
  }
  const a = summarize('aegis')
  const y = summarize('yjs')

  const yCompactsOnLoad = y.records.afterFirstLoad < y.records.stored
  const cell = (s) => `${ms(s.ms)} (${fmt(s.min, 1)}–${fmt(s.max, 1)})`
  const overlap = (p, q) => p.min <= q.max && q.min <= p.max
  const x = (ours, theirs) => `${fmt(theirs / ours, 2)}×`
  const markdown = [
    `## (i) IndexedDB load in Chromium (${fmt(N)} stored updates)`,
    '',
    `Chromium ${browserVersion} (${CHROMIUM}), headless (playwright-core ${versionOf('playwright-core')}); both libraries bundled by rollup for the browser and served from 127.0.0.1. Each round writes ${fmt(N)} \`map.set('key-' + i, i)\` updates, each its own transaction (one stored record each), into a fresh database, then times, in a fresh doc, constructing the persistence → \`await whenSynced\` → reading all ${fmt(N)} values (size, sum and last value checked). "Before compaction" loads the ${fmt(N)} records; then the records are compacted and the load is timed again. Median of ${ROUNDS} rounds (min–max), libraries alternating, each round of each library in a fresh Node process with its own Chromium whose page loads that library only; garbage collected before each timed load${hasGc ? '' : ' (gc unavailable: not collected)'}.`,
    '',
    `- **aegis-replication** \`IndexedDBPersistence\`, written with \`compactAfter: 1e9\` and \`await flush()\`; compaction by opening it once with \`compactAfter: 500\` (a load finding more records compacts right after \`whenSynced\`; \`flush()\` waits for it). Changes made in one task share one IndexedDB transaction (one record each).`,
    `- **y-indexeddb ${versionOf('y-indexeddb')}** (Yjs ${versionOf('yjs')}): one IndexedDB transaction per update; past ${500} records it compacts 1 s after the last update (debounced), so the writer is destroyed right after the writes (which cancels that timer; the queued writes still commit). Its stored count includes the one record its own first load adds (the new doc's empty state). Its load ${yCompactsOnLoad ? 'compacted the records itself' : `does **not** compact (it adds one more such record: ${fmt(y.records.stored)} → ${fmt(y.records.afterFirstLoad)} records); only the debounced timer after a later update does`}, so compaction was run as that timer runs it: \`storeState(persistence, false)\` on a fresh load.`,
    '',
    table(['', 'aegis-replication', 'records', `y-indexeddb ${versionOf('y-indexeddb')}`, 'records', 'y-indexeddb ÷ aegis'], [
      ['**load, before compaction**', cell(a.before), fmt(a.records.stored), cell(y.before), fmt(y.records.stored), x(a.before.ms, y.before.ms)],
      ['**load, after compaction**', cell(a.after), fmt(a.records.compacted), cell(y.after), fmt(y.records.compacted), x(a.after.ms, y.after.ms)],
      [`raw IndexedDB open + \`getAll\` of the uncompacted records, no decoding (for reference)`, cell(a.rawGetAll), fmt(a.records.afterFirstLoad), cell(y.rawGetAll), fmt(y.records.afterFirstLoad), x(a.rawGetAll.ms, y.rawGetAll.ms)],
      [`write ${fmt(N)} updates until committed (for reference)`, cell(a.write), '', cell(y.write), '', x(a.write.ms, y.write.ms)]
    ]),
    '',
    `Conclusion: loading a doc from ${fmt(N)} stored updates takes ${ms(a.before.ms)} with aegis-replication and ${ms(y.before.ms)} with y-indexeddb (y-indexeddb ÷ aegis = ${x(a.before.ms, y.before.ms)}${overlap(a.before, y.before) ? ', within the spread of the rounds' : ''}); after compaction ${ms(a.after.ms)} against ${ms(y.after.ms)} (${x(a.after.ms, y.after.ms)}${overlap(a.after, y.after) ? ', within the spread of the rounds' : ''}).`
  ].join('\n')
  return markdown
}

await suiteMain(import.meta.url, { jobs, measure, render })

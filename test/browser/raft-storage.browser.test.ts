/**
 * `IndexedDBRaftStorage` in real Chromium, on the built bundle: the page
 * loads `dist/indexeddb.js` (with `dist/index.js` for the core; `idb` and
 * `lib0` inlined) and the scenarios of `test/support/raft-storage-scenarios.ts`,
 * runs each scenario inside the page and reports what failed; vitest
 * asserts on the reports. One scenario spans a page reload.
 *
 * Needs `npx rollup -c` first and `/usr/bin/chromium`. `AEGIS_SKIP_BROWSER=1` skips it.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import type { Plugin } from 'rollup'
import ts from 'typescript'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type * as AegisIdb from '../../adapters/indexeddb/index.js'
import * as Scenarios from '../support/raft-storage-scenarios.js'
import { closeServer, launchChromium, loopbackContext, servePage } from './harness.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SCENARIOS = fileURLToPath(new URL('../support/raft-storage-scenarios.ts', import.meta.url))

/** What the page reports for one run. */
interface Outcome { ok: boolean, error?: string }

declare global {
  interface Window {
    raftTest: {
      idb: typeof AegisIdb
      scenarios: typeof Scenarios
      /** Runs the named scenario on a fresh database `db`. */
      run: (scenario: string, db: string) => Promise<Outcome>
      /** A seeded random run on database `db`. */
      random: (db: string, seed: number, steps: number) => Promise<Outcome>
      /** Opens `db` and runs `body` on the storage (left open, as a tab that closes leaves it). */
      withStorage: (db: string, body: (s: AegisIdb.IndexedDBRaftStorage) => Promise<void>) => Promise<Outcome>
    }
  }
}

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>loading</title>
<script type="module">
  import { idb, scenarios } from './bundle.js'
  const fixture = db => ({ open: () => idb.IndexedDBRaftStorage.open(db), close: s => s.close() })
  const outcome = async fn => {
    try { await fn(); return { ok: true } } catch (e) { return { ok: false, error: (e?.name ?? 'Error') + ': ' + (e?.message ?? String(e)) } }
  }
  window.raftTest = {
    idb, scenarios,
    run: (name, db) => outcome(() => scenarios.scenarios.find(s => s.name === name).run(fixture(db))),
    random: (db, seed, steps) => outcome(() => scenarios.randomRun(fixture(db), {}, seed, steps)),
    withStorage: (db, body) => outcome(async () => body(await idb.IndexedDBRaftStorage.open(db)))
  }
  document.title = 'ready'
</script>
`

/** Resolves the package to the built files in `dist/`, so the page runs what is published. */
const fromDist = (): Plugin => ({
  name: 'aegis-replication-dist',
  resolveId (id) {
    if (id === 'aegis-replication') return `${ROOT}dist/index.js`
    if (id.startsWith('aegis-replication/')) return `${ROOT}dist/${id.slice('aegis-replication/'.length)}.js`
    return null
  }
})

/** Transpiles the scenarios module, which lies outside the build's tsconfig (the harness's TypeScript plugin skips it). */
const scenariosAsJs = (): Plugin => ({
  name: 'raft-storage-scenarios',
  transform (code, id) {
    if (id !== SCENARIOS) return null
    const out = ts.transpileModule(code, { fileName: id, compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true } })
    return { code: out.outputText, map: null }
  }
})

let dbCounter = 0
const freshName = (what: string): string => `aegis-raft-test-${what}-${++dbCounter}`

describe.skipIf(process.env.AEGIS_SKIP_BROWSER === '1')('IndexedDBRaftStorage in Chromium', () => {
  let dir: string | undefined
  let server: Server | undefined
  let browser: Browser | undefined
  let page: Page
  let pageErrors: string[] = []

  const ready = async (): Promise<void> => {
    try {
      await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 10_000 })
    } catch (err) {
      throw new Error(`the test page did not load the bundle: ${pageErrors.join('; ') || String(err)}`)
    }
  }

  beforeAll(async () => {
    if (!existsSync(`${ROOT}dist/indexeddb.js`)) throw new Error('dist/indexeddb.js is missing: run `npx rollup -c` first')
    dir = await mkdtemp(join(tmpdir(), 'aegis-raft-idb-'))
    const served = await servePage(dir, PAGE, { idb: 'aegis-replication/indexeddb', scenarios: SCENARIOS }, { plugins: [fromDist(), scenariosAsJs()] })
    server = served.server
    browser = await launchChromium()
    const context = await loopbackContext(browser)
    page = await context.newPage()
    page.on('pageerror', e => pageErrors.push(e.message))
    await page.goto(`${served.origin}/`)
    await ready()
  })

  afterEach(() => {
    const seen = pageErrors
    pageErrors = []
    expect(seen, 'uncaught errors in the page').toEqual([])
  })

  afterAll(async () => {
    await browser?.close()
    if (server !== undefined) await closeServer(server)
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  // the scenarios every RaftStorage passes (the IndexedDB storage has every trait)
  for (const scenario of Scenarios.scenarios) {
    it(scenario.name, async () => {
      const outcome = await page.evaluate(async ([name, db]) => await window.raftTest.run(name, db), [scenario.name, freshName('scenario')] as const)
      expect(outcome).toEqual({ ok: true })
    })
  }

  for (const seed of [1, 2]) {
    it(`random calls match the contract's model (seed ${seed})`, async () => {
      const outcome = await page.evaluate(async ([db, seed]) => await window.raftTest.random(db, seed, 150), [freshName('random'), seed] as const)
      expect(outcome).toEqual({ ok: true })
    })
  }

  it('the stored state survives a page reload (the storage was never closed)', async () => {
    const db = freshName('reload')
    const written = await page.evaluate(async db => await window.raftTest.withStorage(db, async s => {
      await window.raftTest.scenarios.writeRestartState(s)
    }), db)
    expect(written).toEqual({ ok: true })
    await page.reload()
    await ready()
    const verified = await page.evaluate(async db => await window.raftTest.withStorage(db, async s => {
      await window.raftTest.scenarios.verifyRestartState(s, window.raftTest.scenarios.restartState())
      await s.close()
    }), db)
    expect(verified).toEqual({ ok: true })
  })

  it('a refused append aborts its transaction: nothing of the batch is stored', async () => {
    const outcome = await page.evaluate(async db => await window.raftTest.withStorage(db, async s => {
      const { entries, entry, assertEqual, assertRejects } = window.raftTest.scenarios
      await s.append(entries(1, 3, 1))
      const err = await assertRejects(s.append([entry(4, 1), entry(5, 1), entry(7, 1)]), 'a batch with a gap')
      assertEqual(err.name, 'InvalidArgumentError', 'the error of a batch with a gap')
      assertEqual((await s.load()).entries, entries(1, 3, 1), 'entries after the refused batch')
      await s.close()
    }), freshName('abort'))
    expect(outcome).toEqual({ ok: true })
  })

  it('a database that holds something else is refused with a StorageError', async () => {
    const outcome = await page.evaluate(async db => {
      await new Promise<void>((resolve, reject) => {
        const r = indexedDB.open(db, 1)
        r.onupgradeneeded = () => { r.result.createObjectStore('updates', { autoIncrement: true }) }
        r.onsuccess = () => { r.result.close(); resolve() }
        r.onerror = () => { reject(r.error) }
      })
      try {
        await window.raftTest.idb.IndexedDBRaftStorage.open(db)
        return 'opened'
      } catch (e) {
        return `${(e as Error).name}: ${(e as Error).message}`
      }
    }, freshName('foreign'))
    expect(outcome).toMatch(/^StorageError: .*not a Raft storage/)
  })

  it('deleting the database from another connection closes the storage; its calls then reject with StorageError', async () => {
    const outcome = await page.evaluate(async db => await window.raftTest.withStorage(db, async s => {
      const { entries, assertEqual, assertRejects } = window.raftTest.scenarios
      await s.append(entries(1, 2, 1))
      await new Promise<void>((resolve, reject) => {
        const r = indexedDB.deleteDatabase(db)
        r.onsuccess = () => { resolve() }
        r.onerror = () => { reject(r.error) }
        r.onblocked = () => { reject(new Error('the storage kept the database open')) }
      })
      assertEqual((await assertRejects(s.load(), 'load after the deletion')).name, 'StorageError', 'the error of load after the deletion')
    }), freshName('deleted'))
    expect(outcome).toEqual({ ok: true })
  })
})

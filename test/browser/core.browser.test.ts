/**
 * Real-browser smoke test of the core: bundles `dist/index.js` with lib0
 * inlined (as a user's bundler would), serves it on 127.0.0.1 and drives
 * Debian's Chromium through playwright-core. Checks that Docs sync inside the
 * page, that a browser Doc and a Node Doc exchange bytes and converge, that
 * hashing agrees with Node, and that bad updates throw `DecodeError`.
 *
 * Needs `npm run build` (npm test does it) and `/usr/bin/chromium`
 * (`apt-get update && apt-get install -y chromium`, as root).
 * `AEGIS_SKIP_BROWSER=1` skips it.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { nodeResolve } from '@rollup/plugin-node-resolve'
import type { Browser, Page } from 'playwright-core'
import { rollup } from 'rollup'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeServer, launchChromium, loopbackContext, serve } from './harness.js'
import { Doc, HashRing, JumpHash, xxh64Hex } from '../../src/index.js'
import type * as Aegis from '../../src/index.js'

declare global {
  interface Window {
    /** The bundled library, set by the test page. */
    aegis: typeof Aegis
    /** Docs that live across `page.evaluate` calls. */
    docs: Record<string, Aegis.Doc>
  }
}

const DIST_ENTRY = fileURLToPath(new URL('../../dist/index.js', import.meta.url))
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>aegis-replication browser smoke test</title>
<script type="module">
  import * as aegis from './aegis.js'
  window.aegis = aegis
  window.docs = {}
  document.title = 'ready'
</script>
`

/** Bundles dist/index.js for the browser with every dependency inlined. */
const bundleLibrary = async (outFile: string): Promise<void> => {
  if (!existsSync(DIST_ENTRY)) {
    throw new Error(`${DIST_ENTRY} is missing: run \`npm run build\` first (npm test builds it)`)
  }
  const bundle = await rollup({
    input: DIST_ENTRY,
    plugins: [nodeResolve({ browser: true })],
    onwarn: (w, warn) => {
      if (w.code === 'UNRESOLVED_IMPORT') throw new Error(`bundling dist/index.js: ${w.message}`)
      warn(w)
    }
  })
  try {
    const { output } = await bundle.write({ file: outFile, format: 'es' })
    const imports = output[0].imports
    if (imports.length > 0) throw new Error(`the browser bundle still imports ${imports.join(', ')}`)
  } finally {
    await bundle.close()
  }
}

describe.skipIf(process.env.AEGIS_SKIP_BROWSER === '1')('core in Chromium', () => {
  let dir: string | undefined
  let server: Server | undefined
  let browser: Browser | undefined
  let page: Page

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aegis-browser-'))
    await bundleLibrary(join(dir, 'aegis.js'))
    await writeFile(join(dir, 'index.html'), PAGE)
    const served = await serve({
      '/': { path: join(dir, 'index.html'), type: 'text/html; charset=utf-8' },
      '/aegis.js': { path: join(dir, 'aegis.js'), type: 'text/javascript; charset=utf-8' }
    })
    server = served.server
    browser = await launchChromium()
    const context = await loopbackContext(browser)
    page = await context.newPage()
    const pageErrors: string[] = []
    page.on('pageerror', e => pageErrors.push(e.message))
    await page.goto(`${served.origin}/`)
    try {
      await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 10_000 })
    } catch (err) {
      throw new Error(`the test page did not load the bundle: ${pageErrors.join('; ') || String(err)}`)
    }
  })

  afterAll(async () => {
    await browser?.close()
    if (server !== undefined) await closeServer(server)
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('two Docs in the page sync through update events and converge', async () => {
    const r = await page.evaluate(() => {
      const { Doc } = window.aegis
      const a = new Doc({ replicaId: 'page-a' })
      const b = new Doc({ replicaId: 'page-b' })
      // both edit while "offline"; updates queue up and are delivered after.
      // Remote updates are re-emitted with their origin: skip those, no echo.
      const toB: Uint8Array[] = []
      const toA: Uint8Array[] = []
      a.on('update', (u, origin) => { if (origin !== 'from-b') toB.push(u) })
      b.on('update', (u, origin) => { if (origin !== 'from-a') toA.push(u) })

      a.map('tasks').set('t1', { title: 'Write the docs', done: false })
      a.counter('votes').increment(3)
      a.set('tags').add('docs')
      a.transact(() => {
        a.map('board').set('name', 'from a')
        a.map('board').counter('views').increment(2)
      })
      b.map('tasks').set('t2', 'ünïcödé ✓')
      b.counter('votes').increment(4)
      b.counter('votes').decrement(1)
      b.set('tags').add('ops')
      b.map('board').counter('views').increment(5)
      b.register('title').set('Team board')

      for (const u of toB.splice(0)) b.applyUpdate(u, 'from-a')
      for (const u of toA.splice(0)) a.applyUpdate(u, 'from-b')
      return {
        queuedAfter: toA.length + toB.length,
        a: a.toJSON(),
        b: b.toJSON(),
        votesA: a.counter('votes').value(),
        votesB: b.counter('votes').value(),
        viewsB: b.map('board').counter('views').value(),
        t1OnB: b.map('tasks').get('t1'),
        t2OnA: a.map('tasks').get('t2'),
        hasT2: a.map('tasks').has('t2'),
        title: a.register('title').get(),
        svEqual: a.encodeStateVector().join() === b.encodeStateVector().join()
      }
    })
    expect(r.queuedAfter).toBe(0) // origin-tagged updates were not sent back
    expect(r.a).toEqual(r.b)
    expect(r.votesA).toBe(6)
    expect(r.votesB).toBe(6)
    expect(r.viewsB).toBe(7)
    expect(r.t1OnB).toEqual({ title: 'Write the docs', done: false })
    expect(r.t2OnA).toBe('ünïcödé ✓')
    expect(r.hasT2).toBe(true)
    expect(r.title).toBe('Team board')
    expect(r.svEqual).toBe(true)
    expect(r.a).toMatchObject({ votes: 6, title: 'Team board', board: { name: 'from a', views: 7 } })
    expect([...(r.a.tags as string[])].sort()).toEqual(['docs', 'ops'])
  })

  it('a Doc in Chromium and a Doc in Node exchange state vectors and updates', async () => {
    const node = new Doc({ replicaId: 'node' })
    node.map('notes').set('n1', 'from node')
    node.map('notes').set('shared', 'node wins?')
    node.counter('hits').increment(10)
    node.set('tags').add('server')
    node.map('nested').map('deep').set('bytes', new Uint8Array([1, 2, 3]))

    const browserSv = await page.evaluate(() => {
      const d = (window.docs.chromium = new window.aegis.Doc({ replicaId: 'chromium' }))
      d.map('notes').set('n2', 'from chromium ✓')
      d.map('notes').set('shared', 'chromium wins?')
      d.counter('hits').increment(5)
      d.set('tags').add('browser')
      d.register('owner').set('chromium')
      return Array.from(d.encodeStateVector())
    })
    const nodeSv = node.encodeStateVector()

    // browser → node: what Node lacks, computed in the browser
    const toNode = await page.evaluate(sv => Array.from(window.docs.chromium.encodeStateAsUpdate(new Uint8Array(sv))), Array.from(nodeSv))
    // node → browser: what the browser lacks, computed in Node
    const toBrowser = Array.from(node.encodeStateAsUpdate(new Uint8Array(browserSv)))
    node.applyUpdate(new Uint8Array(toNode))
    const inBrowser = await page.evaluate(u => {
      const d = window.docs.chromium
      d.applyUpdate(new Uint8Array(u))
      return { json: d.toJSON(), sv: Array.from(d.encodeStateVector()), hits: d.counter('hits').value() }
    }, toBrowser)

    expect(toNode.length).toBeGreaterThan(0)
    expect(toBrowser.length).toBeGreaterThan(0)
    expect(inBrowser.json).toEqual(node.toJSON())
    expect(inBrowser.sv).toEqual(Array.from(node.encodeStateVector()))
    expect(inBrowser.hits).toBe(15)
    expect(node.map('notes').get('n2')).toBe('from chromium ✓')
    expect(node.register('owner').get()).toBe('chromium')
    expect(node.set('tags').values().sort()).toEqual(['browser', 'server'])
    expect(['node wins?', 'chromium wins?']).toContain(node.map('notes').get('shared'))
    expect(inBrowser.json).toMatchObject({ nested: { deep: {} } })

    // a second round with a removal: deletes travel across runtimes too
    const svAfterDelete = await page.evaluate(() => {
      const d = window.docs.chromium
      d.map('notes').delete('n1')
      return Array.from(d.encodeStateVector())
    })
    node.counter('hits').decrement(2)
    const back = await page.evaluate(sv => Array.from(window.docs.chromium.encodeStateAsUpdate(new Uint8Array(sv))), Array.from(node.encodeStateVector()))
    const forth = Array.from(node.encodeStateAsUpdate(new Uint8Array(svAfterDelete)))
    node.applyUpdate(new Uint8Array(back))
    const final = await page.evaluate(u => {
      const d = window.docs.chromium
      d.applyUpdate(new Uint8Array(u))
      return { json: d.toJSON(), sv: Array.from(d.encodeStateVector()) }
    }, forth)
    expect(node.map('notes').has('n1')).toBe(false)
    expect(node.counter('hits').value()).toBe(13)
    expect(final.json).toEqual(node.toJSON())
    expect(final.sv).toEqual(Array.from(node.encodeStateVector()))
  })

  it('hashes the same in Chromium as in Node', async () => {
    const strings = ['', 'abc', 'doc:board-42', 'héllo wörld', '日本語のキー', '🚀 rocket ✓', 'x'.repeat(33), 'ü'.repeat(100)]
    const keys = Array.from({ length: 1000 }, (_, i) => i % 7 === 0 ? `dokument:ä-${i}` : `doc:${i}`)
    const nodes = ['hub-a', 'hub-b', 'hub-c', 'hub-d', 'hub-e']

    const ring = new HashRing()
    for (const n of nodes) ring.addNode(n)
    const inNode = {
      hex: strings.map(s => xxh64Hex(s)),
      jump: keys.map(k => JumpHash.hash(k, 16)),
      owner: keys.map(k => ring.getNode(k)),
      replicas: keys.map(k => ring.getNodes(k, 3))
    }
    const inBrowser = await page.evaluate(({ strings, keys, nodes }) => {
      const { HashRing, JumpHash, xxh64Hex } = window.aegis
      const ring = new HashRing()
      for (const n of nodes) ring.addNode(n)
      return {
        hex: strings.map(s => xxh64Hex(s)),
        jump: keys.map(k => JumpHash.hash(k, 16)),
        owner: keys.map(k => ring.getNode(k)),
        replicas: keys.map(k => ring.getNodes(k, 3))
      }
    }, { strings, keys, nodes })

    // reference XXH64 (seed 0) values, so both runtimes are right, not just equal
    expect(inNode.hex[0]).toBe('ef46db3751d8e999')
    expect(inNode.hex[1]).toBe('44bc2cf5ad770999')
    expect(inBrowser.hex).toEqual(inNode.hex)
    expect(inBrowser.jump).toEqual(inNode.jump)
    expect(new Set(inNode.jump).size).toBe(16)
    expect(inBrowser.owner).toEqual(inNode.owner)
    expect(new Set(inNode.owner)).toEqual(new Set(nodes))
    expect(inBrowser.replicas).toEqual(inNode.replicas)
    for (const r of inNode.replicas) expect(new Set(r).size).toBe(3)
  })

  it('rejects garbage and truncated updates with DecodeError and leaves the Doc unchanged', async () => {
    const src = new Doc({ replicaId: 'node-src' })
    src.map('m').set('k', 'v'.repeat(50))
    src.counter('c').increment(7)
    const good = src.encodeStateAsUpdate()
    const wrongVersion = good.slice()
    wrongVersion[0] = 2
    const bad = [
      new Uint8Array([]),
      new Uint8Array([99]),
      good.slice(0, good.length - 3),
      good.slice(0, good.length >> 1),
      new Uint8Array([1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f]),
      wrongVersion
    ].map(u => Array.from(u))

    const r = await page.evaluate(({ bad, good }) => {
      const { Doc, DecodeError } = window.aegis
      const d = new Doc({ replicaId: 'victim' })
      d.map('m').set('keep', 'me')
      d.counter('c').increment(1)
      const before = JSON.stringify(d.toJSON())
      const svBefore = d.encodeStateVector().join()
      const errors = bad.map(u => {
        try {
          d.applyUpdate(new Uint8Array(u))
          return { threw: false, name: '', message: '', instance: false }
        } catch (e) {
          const err = e as Error
          return { threw: true, name: err.name, message: err.message, instance: err instanceof DecodeError }
        }
      })
      const unchanged = JSON.stringify(d.toJSON()) === before && d.encodeStateVector().join() === svBefore
      // still usable: the good update applies afterwards
      d.applyUpdate(new Uint8Array(good))
      return { errors, unchanged, after: d.toJSON() }
    }, { bad, good: Array.from(good) })

    expect(r.errors).toHaveLength(bad.length)
    for (const e of r.errors) {
      expect(e.threw).toBe(true)
      expect(e.name).toBe('DecodeError')
      expect(e.instance).toBe(true)
      expect(e.message).not.toBe('')
    }
    expect(r.unchanged).toBe(true)
    expect(r.after).toEqual({ m: { keep: 'me', k: 'v'.repeat(50) }, c: 8 })
  })
})

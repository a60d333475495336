/**
 * Tabs of one browser sync with no server: pages of one Chromium context
 * run `BroadcastChannelProvider` on the channel `aegis:<room>`, converge,
 * share presence, and a page opened later catches up. No hub runs.
 *
 * Tests only talk to 127.0.0.1. Needs `/usr/bin/chromium`
 * (`apt-get update && apt-get install -y chromium`, as root).
 * `AEGIS_SKIP_BROWSER=1` skips it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type * as Aegis from '../../src/index.js'
import type * as AegisBc from '../../adapters/broadcast-channel/index.js'
import { closeServer, launchChromium, loopbackContext, servePage } from './harness.js'

interface TabState {
  synced: boolean
  json: Record<string, unknown>
  /** Names in every awareness state (this tab's included), sorted. */
  names: string[]
}

declare global {
  interface Window {
    bcTest: {
      core: typeof Aegis
      bc: typeof AegisBc
      /** Opens a doc and a provider for `room`, awaits whenSynced. */
      open: (room: string, name: string) => Promise<void>
      state: () => TabState
      doc: Aegis.Doc
      provider: AegisBc.BroadcastChannelProvider
      /** Warnings the provider logged. */
      warnings: string[]
    }
  }
}

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>loading</title>
<script type="module">
  import { core, bc } from './bundle.js'
  const warnings = []
  const logger = { debug () {}, info () {}, error () {}, warn (msg) { warnings.push(msg) } }
  const open = async (room, name) => {
    const doc = new core.Doc()
    const provider = new bc.BroadcastChannelProvider(room, doc, { logger })
    provider.awareness.setLocalStateField('name', name)
    window.bcTest.doc = doc
    window.bcTest.provider = provider
    await provider.whenSynced
  }
  const state = () => {
    const { doc, provider } = window.bcTest
    const names = [...provider.awareness.getStates().values()].map(s => s.name).filter(n => typeof n === 'string').sort()
    return { synced: provider.synced, json: doc.toJSON(), names }
  }
  window.bcTest = { core, bc, open, state, doc: undefined, provider: undefined, warnings }
  document.title = 'ready'
</script>
`

const ROOM = 'tabs-1'

describe.skipIf(process.env.AEGIS_SKIP_BROWSER === '1')('tabs of one browser sync over BroadcastChannel, in Chromium', () => {
  let dir: string | undefined
  let server: Server | undefined
  let browser: Browser | undefined
  let context: BrowserContext
  let origin: string
  let pageErrors: string[] = []

  const newPage = async (): Promise<Page> => {
    const p = await context.newPage()
    p.on('pageerror', e => pageErrors.push(e.message))
    await p.goto(`${origin}/`)
    await p.waitForFunction(() => document.title === 'ready', undefined, { timeout: 10_000 })
      .catch((err: unknown) => { throw new Error(`the test page did not load the bundle: ${pageErrors.join('; ') || String(err)}`) })
    return p
  }
  const state = (p: Page): Promise<TabState> => p.evaluate(() => window.bcTest.state())

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aegis-bc-browser-'))
    const served = await servePage(dir, PAGE, { core: 'aegis-replication', bc: 'aegis-replication/broadcast-channel' })
    server = served.server
    origin = served.origin
    browser = await launchChromium()
    context = await loopbackContext(browser)
  })

  afterEach(() => {
    const seen = pageErrors
    pageErrors = []
    expect(seen, 'uncaught errors in the pages').toEqual([])
  })

  afterAll(async () => {
    await browser?.close()
    if (server !== undefined) await closeServer(server)
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('two pages converge with no server; a third page opened later catches up; presence comes and goes', async () => {
    const a = await newPage()
    const b = await newPage()
    await a.evaluate(room => window.bcTest.open(room, 'a'), ROOM)
    await b.evaluate(room => window.bcTest.open(room, 'b'), ROOM)
    await Promise.all([
      a.evaluate(() => {
        const { doc } = window.bcTest
        doc.map('cards').set('a1', { title: 'from a' })
        doc.counter('votes').increment(2)
        doc.set('tags').add('x')
      }),
      b.evaluate(() => {
        const { doc } = window.bcTest
        doc.map('cards').set('b1', { title: 'from b' })
        doc.counter('votes').increment(3)
        doc.set('tags').add('y')
      })
    ])
    const expected = { cards: { a1: { title: 'from a' }, b1: { title: 'from b' } }, votes: 5, tags: expect.arrayContaining(['x', 'y']) }
    await expect.poll(async () => (await state(a)).json, { timeout: 10_000 }).toEqual(expected)
    await expect.poll(async () => (await state(b)).json, { timeout: 10_000 }).toEqual(expected)
    await expect.poll(async () => [(await state(a)).names, (await state(b)).names]).toEqual([['a', 'b'], ['a', 'b']])

    // a third page, opened later, gets everything (and its own edit goes out)
    const c = await newPage()
    await c.evaluate(async room => {
      await window.bcTest.open(room, 'c')
      window.bcTest.doc.map('cards').set('c1', { title: 'from c' })
    }, ROOM)
    const all = { ...expected, cards: { ...expected.cards, c1: { title: 'from c' } } }
    for (const p of [a, b, c]) {
      await expect.poll(async () => (await state(p)).json, { timeout: 10_000 }).toEqual(all)
      await expect.poll(async () => (await state(p)).names).toEqual(['a', 'b', 'c'])
      expect((await state(p)).synced).toBe(true)
    }

    // a page that goes away takes its presence along (pagehide, or destroy)
    await b.evaluate(() => window.bcTest.provider.destroy())
    await b.close()
    for (const p of [a, c]) await expect.poll(async () => (await state(p)).names).toEqual(['a', 'c'])
    await c.close()
    await expect.poll(async () => (await state(a)).names).toEqual(['a'])
    for (const p of [a]) expect(await p.evaluate(() => window.bcTest.warnings)).toEqual([])
    await a.close()
  })

  it('a page alone on the channel is synced (after the alone delay) and keeps its edits for the next page', async () => {
    const room = 'tabs-alone'
    const a = await newPage()
    const s = await a.evaluate(async room => {
      await window.bcTest.open(room, 'a')
      window.bcTest.doc.map('m').set('k', 'alone')
      return window.bcTest.state()
    }, room)
    expect(s.synced).toBe(true)
    const b = await newPage()
    await b.evaluate(room => window.bcTest.open(room, 'b'), room)
    await expect.poll(async () => (await state(b)).json).toEqual({ m: { k: 'alone' } })
    await a.close()
    await b.close()
  })
})

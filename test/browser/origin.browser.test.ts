/**
 * A page from another origin cannot open a local hub's socket (issue 9,
 * finding 8: "any web page can use a local hub"). The hub listens on
 * 127.0.0.1 with its default `allowedOrigins` (any loopback origin while it
 * listens on loopback); Chromium resolves the made-up host `evil.test` to
 * 127.0.0.1 (`--host-resolver-rules`), so a page served at
 * `http://evil.test:<port>/` is another site whose packets still never
 * leave the machine.
 *
 * - from `http://evil.test:<port>/`, `new WebSocket('ws://127.0.0.1:<hub>')`
 *   fails (the hub answers the upgrade with HTTP 403);
 * - the same page can open a socket to a plain `ws` server on 127.0.0.1
 *   (no origin check), so the failure above is the hub's refusal, not
 *   Chromium's;
 * - the same page served from `http://127.0.0.1:<port>/` opens the hub's
 *   socket.
 *
 * Needs `/usr/bin/chromium`. `AEGIS_SKIP_BROWSER=1` skips it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocketServer } from 'ws'
import { silentLogger } from 'aegis-replication'
import { createHub, type Hub } from 'aegis-replication/hub'
import { closeServer, launchChromium, serve } from './harness.js'

const EVIL = 'evil.test'

/** What a page saw of `new WebSocket(url)`: `open`, or how it failed. */
interface Attempt { outcome: 'open' | 'error', code?: number }

describe.skipIf(process.env.AEGIS_SKIP_BROWSER === '1')('the hub refuses pages from other origins, in Chromium', () => {
  let dir: string | undefined
  let hub: Hub | undefined
  let page: { server: Server, origin: string } | undefined
  let plain: WebSocketServer | undefined
  let browser: Browser | undefined
  let context: BrowserContext | undefined

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aegis-origin-browser-'))
    hub = await createHub({ port: 0, dataDir: join(dir, 'hub-data'), logger: silentLogger })
    await writeFile(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>origin test</title><p>origin test</p>')
    page = await serve({ '/': { path: join(dir, 'index.html'), type: 'text/html; charset=utf-8' } })
    plain = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await new Promise<void>((resolve, reject) => { plain!.once('listening', resolve); plain!.once('error', reject) })
    browser = await launchChromium([`--host-resolver-rules=MAP ${EVIL} 127.0.0.1`])
    context = await browser.newContext()
    // nothing leaves the machine: only 127.0.0.1 and the made-up host (itself 127.0.0.1)
    await context.route(url => url.hostname !== '127.0.0.1' && url.hostname !== EVIL, route => route.abort('blockedbyclient'))
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await hub?.close()
    if (plain !== undefined) await new Promise<void>(resolve => plain!.close(() => resolve()))
    if (page !== undefined) await closeServer(page.server)
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  /** Opens the page at `origin` and tries a WebSocket to `url` from it. */
  const attempt = async (origin: string, url: string): Promise<Attempt> => {
    const p = await context!.newPage()
    try {
      await p.goto(`${origin}/`)
      expect(await p.evaluate(() => location.origin)).toBe(origin)
      return await p.evaluate(async (url) => await new Promise<Attempt>((resolve) => {
        const ws = new WebSocket(url)
        let failed = false
        ws.onopen = () => { ws.close(); resolve({ outcome: 'open' }) }
        ws.onerror = () => { failed = true }
        ws.onclose = (e) => { if (failed || e.code !== 1000) resolve({ outcome: 'error', code: e.code }) }
      }), url)
    } finally {
      await p.close()
    }
  }

  const portOf = (origin: string): string => new URL(origin).port

  it('a page from another origin cannot open the hub’s socket; a loopback page can', async () => {
    const evil = `http://${EVIL}:${portOf(page!.origin)}`
    const plainUrl = `ws://127.0.0.1:${(plain!.address() as AddressInfo).port}`
    const hubUrl = `ws://127.0.0.1:${hub!.port}`
    // Chromium itself lets that page open a socket on 127.0.0.1 (to a server that checks nothing) …
    expect(await attempt(evil, plainUrl)).toEqual({ outcome: 'open' })
    // … but the hub refuses it (HTTP 403 on the upgrade: the page sees an error, close code 1006)
    expect(await attempt(evil, hubUrl)).toEqual({ outcome: 'error', code: 1006 })
    // the same page from a loopback origin is let in
    expect(await attempt(page!.origin, hubUrl)).toEqual({ outcome: 'open' })
  })
})

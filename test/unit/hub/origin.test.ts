/**
 * Security defaults (issue 9, finding 8): the `Origin` check on upgrades
 * (refused with HTTP 403 before a WebSocket exists) and protected mode (a
 * hub reachable from other machines does not start without auth).
 */
import { createServer } from 'node:http'
import { describe, expect, it } from 'vitest'
import { silentLogger } from 'aegis-replication'
import { createHub, HubConfigError } from 'aegis-replication/hub'
import { originAllowed } from '../../../adapters/hub/origin.js'
import { checkProtectedMode } from '../../../adapters/hub/protected-mode.js'
import { later, startHub, tempDir, upgradeStatus } from './hub-harness.js'

describe('origin check', () => {
  it('by default allows loopback origins on a loopback hub and the Host header\'s host name elsewhere', () => {
    const loop = { host: '127.0.0.1:4444', loopbackHub: true, allowed: undefined }
    for (const origin of ['http://localhost:5173', 'http://127.0.0.1:8080', 'http://[::1]:3000', 'https://localhost']) {
      expect(originAllowed({ ...loop, origin }), origin).toBe(true)
    }
    for (const origin of ['https://evil.example', 'null', 'file://', 'http://localhost.evil.example', 'chrome-extension://abc']) {
      expect(originAllowed({ ...loop, origin }), origin).toBe(false)
    }
    const pub = { host: 'hub.example.com', loopbackHub: false, allowed: undefined }
    expect(originAllowed({ ...pub, origin: 'https://hub.example.com' })).toBe(true)
    expect(originAllowed({ ...pub, host: 'hub.example.com:8443', origin: 'https://hub.example.com:443' })).toBe(true)
    expect(originAllowed({ ...pub, origin: 'http://localhost:5173' })).toBe(false) // a public hub is not local
    expect(originAllowed({ ...pub, origin: 'https://evil.example' })).toBe(false)
    expect(originAllowed({ ...pub, host: undefined, origin: 'https://hub.example.com' })).toBe(false)
  })

  it('with allowedOrigins allows exactly those, and \'*\' any', () => {
    const base = { host: 'hub.example.com', loopbackHub: true }
    const allowed = ['https://app.example', 'http://localhost:5173']
    expect(originAllowed({ ...base, allowed, origin: 'https://app.example' })).toBe(true)
    expect(originAllowed({ ...base, allowed, origin: 'https://APP.example/' })).toBe(true)
    expect(originAllowed({ ...base, allowed, origin: 'http://localhost:5174' })).toBe(false)
    expect(originAllowed({ ...base, allowed, origin: 'https://hub.example.com' })).toBe(false)
    expect(originAllowed({ ...base, allowed: '*', origin: 'https://anything.example' })).toBe(true)
  })

  it('refuses a foreign origin with 403 before upgrading; loopback pages and clients without Origin get in', async () => {
    const hub = await startHub()
    expect(await upgradeStatus(hub.url, { origin: 'https://evil.example' })).toBe('HTTP 403')
    expect(await upgradeStatus(hub.url, { origin: 'http://localhost:5173' })).toBe('open')
    expect(await upgradeStatus(hub.url)).toBe('open') // Node clients send no Origin: auth alone judges them
    expect(hub.metrics().connections).toBe(2)

    const listed = await startHub({ allowedOrigins: ['https://app.example'] })
    expect(await upgradeStatus(listed.url, { origin: 'https://app.example' })).toBe('open')
    expect(await upgradeStatus(listed.url, { origin: 'http://localhost:5173' })).toBe('HTTP 403')
    const any = await startHub({ allowedOrigins: '*' })
    expect(await upgradeStatus(any.url, { origin: 'https://evil.example' })).toBe('open')
  })
})

describe('protected mode', () => {
  it('a hub on a non-loopback interface without auth refuses to start and says what to do', async () => {
    const err = await createHub({ host: '0.0.0.0', port: 0, dataDir: await tempDir(), logger: silentLogger }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(HubConfigError)
    expect((err as Error).name).toBe('HubConfigError')
    for (const what of ['--auth-jwt-secret-file', '--auth-jwks-url', 'auth', '--allow-anonymous']) expect((err as Error).message).toContain(what)
  })

  it('passes with auth or allowAnonymous, or on loopback', () => {
    expect(() => checkProtectedMode({ host: '0.0.0.0', hasAuth: true, allowAnonymous: false })).not.toThrow()
    expect(() => checkProtectedMode({ host: '::', hasAuth: false, allowAnonymous: true })).not.toThrow()
    for (const host of ['127.0.0.1', 'localhost', '::1', '127.0.0.2']) {
      expect(() => checkProtectedMode({ host, hasAuth: false, allowAnonymous: false }), host).not.toThrow()
    }
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'hub.example.com']) {
      expect(() => checkProtectedMode({ host, hasAuth: false, allowAnonymous: false }), host).toThrow(HubConfigError)
    }
  })

  it('an attached server counts as loopback only when it already listens on a loopback address', async () => {
    const server = createServer()
    later(async () => await new Promise<void>(resolve => server.close(() => resolve())))
    const err = await createHub({ server, dataDir: await tempDir(), logger: silentLogger }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(HubConfigError)
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const hub = await createHub({ server, dataDir: await tempDir(), logger: silentLogger })
    later(async () => await hub.close())
    expect(hub.port).toBe((server.address() as { port: number }).port)
  })
})

/**
 * `createJwtAuth` with real tokens signed by jose: HS256 with a secret,
 * RS256 and ES256 through a JWKS served on 127.0.0.1 (with key rotation),
 * and every way a token can be wrong.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type JWK } from 'jose'
import { createJwtAuth } from 'aegis-replication/hub'
import { KV_AUTH_ROOM } from 'aegis-replication/sync'
import { accessFromClaims } from '../../../adapters/hub/jwt-claims.js'

const SECRET = 'a-test-secret-of-at-least-32-bytes!!'
const key = new TextEncoder().encode(SECRET)
const now = (): number => Math.floor(Date.now() / 1000)

const hs256 = async (claims: Record<string, unknown>, { exp = now() + 600, secret = key }: { exp?: number | null, secret?: Uint8Array } = {}): Promise<string> => {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt()
  if (exp !== null) jwt.setExpirationTime(exp)
  return await jwt.sign(secret)
}

const servers: Server[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise(resolve => s.close(resolve))
})

/** Serves `{ keys: jwks.keys }` on 127.0.0.1, counting fetches; change `jwks.keys` to rotate. */
const serveJwks = async (): Promise<{ url: string, jwks: { keys: JWK[] }, fetches: () => number }> => {
  const jwks: { keys: JWK[] } = { keys: [] }
  let fetches = 0
  const server = createServer((_req, res) => {
    fetches++
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(jwks))
  })
  servers.push(server)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`, jwks, fetches: () => fetches }
}

const keyPair = async (alg: 'RS256' | 'ES256', kid: string): Promise<{ sign: (claims: Record<string, unknown>) => Promise<string>, jwk: JWK }> => {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = { ...await exportJWK(publicKey), kid, alg, use: 'sig' }
  const sign = async (claims: Record<string, unknown>): Promise<string> =>
    await new SignJWT(claims).setProtectedHeader({ alg, kid }).setExpirationTime(now() + 600).sign(privateKey)
  return { sign, jwk }
}

describe('createJwtAuth with an HS256 secret', () => {
  const auth = createJwtAuth({ secret: SECRET })

  it('grants what the rooms claim says: write, read, and deny for a room not listed', async () => {
    const token = await hs256({ rooms: { 'board:1': 'write', 'board:2': 'read' } })
    expect(await auth(token, 'board:1')).toBe('write')
    expect(await auth(token, 'board:2')).toBe('read')
    expect(await auth(token, 'board:3')).toBe('deny')
  })

  it('reads a room + access pair', async () => {
    const token = await hs256({ room: 'notes', access: 'read' })
    expect(await auth(token, 'notes')).toBe('read')
    expect(await auth(token, 'notes2')).toBe('deny')
  })

  it('an expired token is expired, not denied (the client refreshes it); within the clock tolerance it still holds', async () => {
    expect(await auth(await hs256({ rooms: { a: 'write' } }, { exp: now() - 60 }), 'a')).toBe('expired')
    expect(await auth(await hs256({ rooms: { a: 'write' } }, { exp: now() - 1 }), 'a')).toBe('write')
  })

  it('denies a token signed with another key, a malformed one, and alg none', async () => {
    const other = new TextEncoder().encode('another-secret-of-at-least-32-bytes!')
    expect(await auth(await hs256({ rooms: { a: 'write' } }, { secret: other }), 'a')).toBe('deny')
    expect(await auth('not.a.jwt', 'a')).toBe('deny')
    expect(await auth('', 'a')).toBe('deny')
    const none = new UnsecuredJWT({ rooms: { a: 'write' } }).setExpirationTime(now() + 600).encode()
    expect(await auth(none, 'a')).toBe('deny')
    // an expired token with a wrong signature is denied, not "expired"
    expect(await auth(await hs256({ rooms: { a: 'write' } }, { exp: now() - 60, secret: other }), 'a')).toBe('deny')
  })

  it('denies a token without exp unless requireExp is false, and one whose nbf is ahead', async () => {
    const forever = await hs256({ rooms: { a: 'write' } }, { exp: null })
    expect(await auth(forever, 'a')).toBe('deny')
    expect(await createJwtAuth({ secret: SECRET, requireExp: false })(forever, 'a')).toBe('write')
    const later = await new SignJWT({ rooms: { a: 'write' } }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(now() + 600).setNotBefore(now() + 300).sign(key)
    expect(await auth(later, 'a')).toBe('deny')
  })

  it('checks iss and aud when configured', async () => {
    const strict = createJwtAuth({ secret: SECRET, issuer: 'https://auth.test', audience: 'aegis' })
    const good = await new SignJWT({ rooms: { a: 'write' } }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://auth.test').setAudience('aegis').setExpirationTime(now() + 60).sign(key)
    const wrongIss = await new SignJWT({ rooms: { a: 'write' } }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://evil.test').setAudience('aegis').setExpirationTime(now() + 60).sign(key)
    expect(await strict(good, 'a')).toBe('write')
    expect(await strict(wrongIss, 'a')).toBe('deny')
    expect(await strict(await hs256({ rooms: { a: 'write' } }), 'a')).toBe('deny')
  })

  it('refuses a short secret and a config without any key', () => {
    expect(() => createJwtAuth({ secret: 'short' })).toThrow(/at least 32 bytes/)
    expect(() => createJwtAuth({})).toThrow(/needs a secret/)
    expect(() => createJwtAuth({ jwksUrl: 'file:///etc/passwd' })).toThrow(/http\(s\) URL/)
    expect(() => createJwtAuth({ secret: SECRET, algorithms: ['none'] })).toThrow(/none/)
  })
})

describe('the claims', () => {
  it('the most specific grant decides; prefixes never reach the KV', () => {
    const claims = { rooms: { 'board:*': 'read', 'board:mine': 'write', '*': 'read', [KV_AUTH_ROOM]: 'read', x: 'admin' } }
    expect(accessFromClaims(claims, 'board:mine')).toBe('write')
    expect(accessFromClaims(claims, 'board:other')).toBe('read')
    expect(accessFromClaims(claims, 'anything')).toBe('read')
    expect(accessFromClaims(claims, KV_AUTH_ROOM)).toBe('read')
    expect(accessFromClaims({ rooms: { '*': 'write' } }, KV_AUTH_ROOM)).toBe('deny')
    expect(accessFromClaims({ rooms: { [KV_AUTH_ROOM]: 'write' } }, KV_AUTH_ROOM)).toBe('write')
    expect(accessFromClaims(claims, 'x')).toBe('read') // "admin" grants nothing; "*" still applies
    expect(accessFromClaims({ rooms: { 'a*': 'read' }, room: 'a*', access: 'write' }, 'ab')).toBe('write')
    expect(accessFromClaims({ rooms: ['a'] }, 'a')).toBe('deny')
  })
})

describe('createJwtAuth with a JWKS', () => {
  it('verifies RS256 and ES256 tokens from the JWKS, and denies a key it does not list', async () => {
    const server = await serveJwks()
    const rs = await keyPair('RS256', 'rs-1')
    const es = await keyPair('ES256', 'es-1')
    const stranger = await keyPair('ES256', 'es-2')
    server.jwks.keys = [rs.jwk, es.jwk]
    const auth = createJwtAuth({ jwksUrl: server.url })
    expect(await auth(await rs.sign({ rooms: { a: 'write' } }), 'a')).toBe('write')
    expect(await auth(await es.sign({ rooms: { a: 'read' } }), 'a')).toBe('read')
    expect(await auth(await stranger.sign({ rooms: { a: 'write' } }), 'a')).toBe('deny')
    // an HS256 token cannot pass without a secret configured, whatever it claims
    expect(await auth(await hs256({ rooms: { a: 'write' } }), 'a')).toBe('deny')
  })

  it('accepts a token signed by a new key once the JWKS rotates to it (cooldown 0), and refuses the retired key after the cache expires', async () => {
    const server = await serveJwks()
    const old = await keyPair('ES256', 'k1')
    const next = await keyPair('ES256', 'k2')
    server.jwks.keys = [old.jwk]
    const auth = createJwtAuth({ jwksUrl: server.url, jwksCooldownMs: 0, jwksCacheMaxAgeMs: 0 })
    expect(await auth(await old.sign({ rooms: { a: 'write' } }), 'a')).toBe('write')
    expect(await auth(await next.sign({ rooms: { a: 'write' } }), 'a')).toBe('deny')
    server.jwks.keys = [next.jwk]
    const fetchesBefore = server.fetches()
    expect(await auth(await next.sign({ rooms: { a: 'write' } }), 'a')).toBe('write')
    expect(server.fetches()).toBeGreaterThan(fetchesBefore)
    expect(await auth(await old.sign({ rooms: { a: 'write' } }), 'a')).toBe('deny')
  })

  it('a JWKS that does not answer is an error (logged by the hub as auth failed), not a silent deny', async () => {
    const server = await serveJwks()
    const url = server.url
    await new Promise(resolve => servers.pop()!.close(resolve))
    const auth = createJwtAuth({ jwksUrl: url, jwksTimeoutMs: 2000 })
    const es = await keyPair('ES256', 'k')
    await expect(auth(await es.sign({ rooms: { a: 'write' } }), 'a')).rejects.toThrow()
  })
})

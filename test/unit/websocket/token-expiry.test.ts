/**
 * Tokens that expire, against a real hub (createHub on 127.0.0.1): the
 * hub's `auth` reads a tiny fake token `exp:<ms>` and answers `'expired'`
 * once the provider's (fake) clock is past it. The provider's timers
 * (reconnects, ticks, retries) run on a manual clock the test advances, so
 * backoffs of up to 30 s cost no wall-clock time.
 */
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { Doc } from 'aegis-replication'
import { ErrorCode, KvRequestError, type AuthDecision } from 'aegis-replication/sync'
import { WebSocketProvider, type RoomError, type WebSocketProviderOptions } from 'aegis-replication/websocket'
import { FakeClock } from '../../support/fake-clock.js'
import { closeHub, destroyLater, startHub, tempDir } from '../hub/hub-harness.js'

/** `auth` for `exp:<ms>` tokens, judged by the test's clock; the tokens it saw go to `seen`. */
const expiringAuth = (clock: FakeClock, seen: string[] = []) => (token: string, room: string): AuthDecision => {
  seen.push(`${room} ${token}`)
  const exp = token.startsWith('exp:') ? Number(token.slice(4)) : NaN
  if (!Number.isFinite(exp)) return 'deny'
  return exp > clock.now() ? 'write' : 'expired'
}

const provider = (url: string, room: string, doc: Doc, opts: WebSocketProviderOptions): WebSocketProvider => {
  const p = new WebSocketProvider(url, room, doc, { WebSocket: WebSocket as never, random: { next: () => 0.5 }, ...opts })
  destroyLater(p)
  return p
}

/** Advances the fake clock `stepMs` at a time, letting real I/O run in between, until `cond` holds. */
const drive = async (clock: FakeClock, cond: () => boolean, what: string, stepMs = 250): Promise<void> => {
  const end = Date.now() + 30_000
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (fake time ${clock.now()} ms)`)
    clock.advance(stepMs)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

describe('WebSocketProvider with a token function', () => {
  it('an app that comes back online after its token expired recovers without a reload', async () => {
    const clock = new FakeClock()
    const auth = expiringAuth(clock)
    const dataDir = await tempDir()
    const hub = await startHub({ auth, dataDir })
    // the app hands out its cached token until it learns it is stale (a common pattern)
    let cached = 'exp:60000'
    const calls: number[] = []
    const token = async (): Promise<string> => { calls.push(clock.now()); return cached }
    const errors: RoomError[] = []
    const doc = new Doc()
    const p = provider(hub.url, 'board', doc, { token, clock })
    p.on('error', (err) => {
      errors.push(err)
      if (err.code === ErrorCode.TokenExpired) cached = `exp:${clock.now() + 60_000}` // "refresh"
    })
    await drive(clock, () => p.synced, 'the first sync')
    doc.map('m').set('online', 1)
    await drive(clock, () => p.pending === 0, 'the first ack')

    // offline while the token expires: the hub goes away, the app keeps editing
    await closeHub(hub)
    await drive(clock, () => p.status === 'disconnected', 'the disconnect')
    doc.map('m').set('offline', 2)
    clock.advance(120_000)
    expect(clock.now()).toBeGreaterThan(60_000) // the cached token is stale now
    const before = calls.length

    const again = await startHub({ auth, port: hub.port, dataDir })
    await drive(clock, () => errors.some(e => e.code === ErrorCode.TokenExpired), 'the hub to refuse the stale token with 4401')
    expect(p.room?.status).toBe('retrying')
    await drive(clock, () => p.synced && p.pending === 0, 'a sync with the fresh token')
    expect(calls.length).toBeGreaterThanOrEqual(before + 2) // asked on reconnect, and again after 4401
    expect(errors.every(e => e.code === ErrorCode.TokenExpired)).toBe(true)

    // the room syncs again both ways
    const other = provider(again.url, 'board', new Doc(), { token: `exp:${Number.MAX_SAFE_INTEGER}`, clock })
    await drive(clock, () => other.synced && other.doc.map('m').get('offline') === 2, 'the offline edit at another client')
    other.doc.map('m').set('back', 3)
    await drive(clock, () => doc.map('m').get('back') === 3, 'the other client’s edit')
  })

  it('4401 is retried with a fresh token after a full-jitter backoff that doubles up to the cap', async () => {
    const clock = new FakeClock()
    const hub = await startHub({ auth: expiringAuth(clock) })
    const calls: number[] = []
    let stale = 4 // the first few calls hand out a token that has already expired
    const token = (): string => { calls.push(clock.now()); return stale-- > 0 ? 'exp:0' : `exp:${clock.now() + 60_000}` }
    const p = provider(hub.url, 'r', new Doc(), { token, clock, random: { next: () => 0.99 } })
    const errors: RoomError[] = []
    p.on('error', err => errors.push(err))
    await drive(clock, () => p.synced, 'the sync once the token is fresh', 100)
    expect(errors.map(e => e.code)).toEqual([4401, 4401, 4401, 4401])
    const gaps = calls.slice(1).map((t, i) => t - calls[i])
    // delay = 0.99 · min(30 s, 1 s · 2^attempt), checked at the next 1 s tick
    gaps.forEach((gap, attempt) => {
      const delay = 0.99 * Math.min(30_000, 1000 * 2 ** attempt)
      expect(gap).toBeGreaterThanOrEqual(delay)
      expect(gap).toBeLessThanOrEqual(delay + 1000 + 100)
    })
  })

  it('a token function that throws or rejects emits error (4401, cause) and is retried with backoff', async () => {
    const clock = new FakeClock()
    const hub = await startHub({ auth: expiringAuth(clock) })
    let n = 0
    const token = async (): Promise<string> => {
      n++
      if (n === 1) throw new Error('identity provider unreachable')
      if (n === 2) return await Promise.reject(new Error('refresh failed'))
      return `exp:${clock.now() + 60_000}`
    }
    const errors: RoomError[] = []
    const p = provider(hub.url, 'r', new Doc(), { token, clock })
    p.on('error', err => errors.push(err))
    await drive(clock, () => p.synced, 'the sync after two failed token calls')
    expect(n).toBe(3)
    expect(errors.map(e => [e.code, String(e.cause)])).toEqual([
      [ErrorCode.TokenExpired, 'Error: identity provider unreachable'],
      [ErrorCode.TokenExpired, 'Error: refresh failed']
    ])
  })

  it('denied (4403): final for a string token, retried every 15–30 s for a token function', async () => {
    const clock = new FakeClock()
    const seen: string[] = []
    const hub = await startHub({ auth: expiringAuth(clock, seen) })
    // a string token the hub denies: asked once, then the socket closes for good
    const fixed = provider(hub.url, 'fixed', new Doc(), { token: 'nonsense', clock })
    const fixedErrors: RoomError[] = []
    fixed.on('error', err => fixedErrors.push(err))
    await drive(clock, () => fixedErrors.length > 0, 'the denial')
    expect(fixedErrors[0].code).toBe(ErrorCode.Denied)
    await drive(clock, () => fixed.status === 'disconnected', 'the socket to close')
    clock.advance(120_000)
    expect(seen.filter(s => s.startsWith('fixed ')).length).toBe(1)
    expect(fixed.room?.status).toBe('denied')

    // a function: denied now, let in once its token changes, after 15–30 s (22.5 s with random 0.5)
    let current = 'nonsense'
    const fn = provider(hub.url, 'fn', new Doc(), { token: () => current, clock })
    await drive(clock, () => seen.includes('fn nonsense'), 'the first join')
    const deniedAt = clock.now()
    current = `exp:${Number.MAX_SAFE_INTEGER}`
    await drive(clock, () => fn.synced, 'the retry with the new token', 500)
    expect(clock.now() - deniedAt).toBeGreaterThanOrEqual(15_000)
    expect(clock.now() - deniedAt).toBeLessThan(30_000 + 2000)
    expect(seen.filter(s => s.startsWith('fn ')).length).toBe(2)
  })

  it('KV requests carry the current token; an expired one is sent again with a fresh token', async () => {
    const clock = new FakeClock()
    const seen: string[] = []
    const check = expiringAuth(clock, seen)
    const hub = await startHub({
      id: 'n1', raft: { electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 30 },
      auth: (token, room) => room === '@kv' ? check(token, room) : 'write'
    })
    const end = Date.now() + 20_000
    while (hub.metrics().raft?.role !== 'leader') {
      if (Date.now() > end) throw new Error('no Raft leader')
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    let staleNext = false // hand out one stale token, to the KV request
    const token = (): string => {
      if (!staleNext) return `exp:${clock.now() + 60_000}`
      staleNext = false
      return 'exp:0'
    }
    const p = provider(hub.url, 'kv-room', new Doc(), { token, clock })
    await drive(clock, () => p.synced, 'the room', 50)
    let done = false
    staleNext = true
    const put = p.kv.put('name/a', new Uint8Array([1])).then(() => { done = true })
    await drive(clock, () => done, 'the put to apply with a fresh token', 50)
    await put
    const kvTokens = seen.filter(s => s.startsWith('@kv '))
    expect(kvTokens[0]).toBe('@kv exp:0')
    expect(kvTokens.length).toBeGreaterThanOrEqual(2)

    // a fixed token that expired fails the request (nothing can refresh it)
    const stale = provider(hub.url, 'kv-room-2', new Doc(), { token: 'exp:1', clock })
    await drive(clock, () => stale.synced, 'the second room', 50)
    let failed: unknown
    void stale.kv.put('name/b', new Uint8Array([2])).catch((err: unknown) => { failed = err })
    await drive(clock, () => failed !== undefined, 'the refusal', 50)
    expect(failed).toBeInstanceOf(KvRequestError)
    expect(String(failed)).toMatch(/expired/)
  })
})

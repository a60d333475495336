/**
 * The attack suite, fast pass (part of `npm test`, about a minute): one
 * `aegis-hub` process started through the CLI takes one pass of every
 * attack at small sizes. After each: the process is alive, /healthz answers
 * 200, its RSS stayed under RSS_BOUND_MB, and a bystander writing to its own
 * room every 100 ms got an acknowledgement. Offenders are closed with the
 * documented codes. Needs dist/ (`npm test` builds it). The long pass is
 * test/long/ (`npm run test:long`); see notes/attack-suite.md.
 */
import { describe, expect, it } from 'vitest'
import { ErrorCode } from 'aegis-replication/sync'
import { useAttackHub } from './attack-session.js'
import {
  bigRoom, FAST_LIMITS, fuzzFrames, perIpRate, presenceBigState, presenceFlood, presenceSpoof,
  reassemblyFlood, roomFlood, signalSpoof, silentWebSocket, slowloris, slowReader, wrongVersion
} from './attacks.js'

const SEED = Number(process.env.AEGIS_ATTACK_SEED ?? Date.now() % 1_000_000)
const L = FAST_LIMITS

const suite = useAttackHub('attack suite', L, () => `seed ${SEED}`)
const { after, run } = suite

describe('attacks on an aegis-hub process (fast pass)', () => {
  it(`random and mutated frames (seed ${SEED}) are closed with documented codes`, async () => {
    let closed = 0
    await run('fuzz', async () => { closed = await fuzzFrames(suite.hub, SEED, 20, 30) })
    expect(closed, `seed ${SEED}`).toBeGreaterThan(0)
    await after(`fuzz (seed ${SEED})`)
  })

  it('a frame in another protocol version is closed with 4426', async () => {
    await run('wrongVersion', async () => await wrongVersion(suite.hub, 2))
    await run('wrongVersion', async () => await wrongVersion(suite.hub, 0))
    await after('wrong protocol version')
  })

  it('10,001 awareness client ids in two frames, then a disconnect and a join, leave the hub up', async () => {
    await run('presenceFlood', async () => await presenceFlood(suite.hub, 'presence-flood', 10_001))
    await after('presence flood')
  })

  it('a ~60 KB awareness state that re-serialises over 64 KiB, then joins, leave the hub up', async () => {
    await run('presenceBigState', async () => await presenceBigState(suite.hub, 'presence-big', 60_000))
    await after('oversized presence state')
  })

  it('a read-only member cannot take over another connection\'s awareness client id', async () => {
    await run('presenceSpoof', async () => await presenceSpoof(suite.hub, 'spoof'))
    await after('presence spoofing')
  })

  it('a read-only member cannot take another connection\'s signaling peer id', async () => {
    await run('signalSpoof', async () => await signalSpoof(suite.hub, 'signal-spoof'))
    await after('signaling spoofing')
  })

  it(`a client that stops reading while asking for a 4 MB room again and again is closed with ${ErrorCode.SlowConsumer}`, async () => {
    await run('bigRoom', async () => await bigRoom(suite.hub, 'big', 4 << 20))
    await run('slowReader', async () => await slowReader(suite.hub, 'big', 4 << 20, L.maxQueuedBytes, 2))
    await after('slow reader')
  })

  it(`reassembly floods are closed with ${ErrorCode.TooLarge}/${ErrorCode.Busy}, the budget is released, partial messages time out`, async () => {
    await run('reassemblyFlood', async () => await reassemblyFlood(suite.hub, L, 4))
    await after('reassembly flood')
  })

  it('room floods hit the per-connection and open-room caps; new rooms open once they left', async () => {
    await run('roomFlood', async () => await roomFlood(suite.hub, L, 'fast'))
    await after('room flood')
  })

  it(`ten connections from one IP over its message rate: closed with ${ErrorCode.RateLimited}`, async () => {
    await run('perIpRate', async () => await perIpRate(suite.hub, 10, 300))
    await after('per-IP rate')
  })

  it('slowloris: 300 sockets sending headers slowly are cut at the header timeout; /healthz answers meanwhile', async () => {
    await run('slowloris', async () => await slowloris(suite.hub, L, 300, 10, async () => { await after('slowloris (sockets open)') }))
    await after('slowloris')
  })

  it('a WebSocket that never answers pings is closed', async () => {
    await run('silentWebSocket', async () => await silentWebSocket(suite.hub, L))
    await after('silent WebSocket')
  })
})

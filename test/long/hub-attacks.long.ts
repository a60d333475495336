/**
 * The attack suite, long pass (`npm run test:long`, not part of `npm test`):
 * the same attacks as test/attack/hub-attacks.test.ts against one
 * `aegis-hub` process, with more seeds and the sizes of the original
 * findings (1,100 slowloris sockets, six reassembly flooders, 2,000 room
 * joins, a slow reader asking 100 times a second), then a soak: every
 * attack in rounds for AEGIS_SOAK_MINUTES (default 5) minutes. Throughout
 * the bystander is acknowledged after every attack, the process stays up
 * and its RSS under RSS_BOUND_MB (printed per round).
 */
import { describe, expect, it } from 'vitest'
import { useAttackHub } from '../attack/attack-session.js'
import {
  bigRoom, FAST_LIMITS, fuzzFrames, perIpRate, presenceBigState, presenceFlood, presenceSpoof,
  reassemblyFlood, roomFlood, signalSpoof, silentWebSocket, slowloris, slowReader, wrongVersion
} from '../attack/attacks.js'

const SEED = Number(process.env.AEGIS_ATTACK_SEED ?? Date.now() % 1_000_000)
const SOAK_MINUTES = Number(process.env.AEGIS_SOAK_MINUTES ?? 5)
const L = FAST_LIMITS

const suite = useAttackHub('attack suite (long)', L, () => `seed ${SEED}, soak ${SOAK_MINUTES} min`)
const { after, run } = suite
const mb = (): string => `${(suite.hub.rssKb() / 1024).toFixed(0)} MB`

describe('attacks on an aegis-hub process (long pass)', () => {
  it('fuzz: 10 seeds × 100 connections × 100 random and mutated frames', async () => {
    for (let i = 0; i < 10; i++) {
      const seed = SEED + i
      let closed = 0
      await run(`fuzz (seed ${seed})`, async () => { closed = await fuzzFrames(suite.hub, seed, 100, 100) })
      expect(closed, `seed ${seed}`).toBeGreaterThan(0)
      await after(`fuzz (seed ${seed})`)
    }
  })

  it('presence floods and oversized states in five rooms each', async () => {
    for (let i = 0; i < 5; i++) {
      await run('presenceFlood', async () => await presenceFlood(suite.hub, `presence-flood-${i}`, 10_001, `127.4.0.${10 + i}`))
      await after(`presence flood ${i}`)
      await run('presenceBigState', async () => await presenceBigState(suite.hub, `presence-big-${i}`, 64_000, `127.4.1.${10 + i}`))
      await after(`oversized presence state ${i}`)
    }
  })

  it('spoofing, wrong versions, per-IP rates, ten times', async () => {
    for (let i = 0; i < 10; i++) {
      await run('presenceSpoof', async () => await presenceSpoof(suite.hub, `spoof-${i}`))
      await run('signalSpoof', async () => await signalSpoof(suite.hub, `signal-spoof-${i}`))
      await run('wrongVersion', async () => await wrongVersion(suite.hub, 2 + i))
      await run('perIpRate', async () => await perIpRate(suite.hub, 10, 1000))
      await after(`spoofing and rates, round ${i}`)
    }
  })

  it('slow readers asking for a 4 MB room 100 times a second, five in a row', async () => {
    await run('bigRoom', async () => await bigRoom(suite.hub, 'big', 4 << 20))
    for (let i = 0; i < 5; i++) {
      await run('slowReader', async () => await slowReader(suite.hub, 'big', 4 << 20, L.maxQueuedBytes, 100, `127.6.0.${i + 1}`))
      await after(`slow reader ${i} (RSS ${mb()})`)
    }
  })

  it('reassembly floods from six connections, three times', async () => {
    for (let i = 0; i < 3; i++) {
      await run('reassemblyFlood', async () => await reassemblyFlood(suite.hub, L, 6))
      await after(`reassembly flood ${i} (RSS ${mb()})`)
    }
  })

  it('room floods: 2,000 joins', async () => {
    for (let i = 0; i < 10; i++) {
      await run('roomFlood', async () => await roomFlood(suite.hub, L, `long-${i}`))
      await after(`room flood ${i}`)
    }
  })

  it('slowloris with 1,100 sockets from 20 addresses; a silent WebSocket', async () => {
    await run('slowloris', async () => await slowloris(suite.hub, L, 1100, 20, async () => { await after('slowloris (1,100 sockets open)') }))
    await after('slowloris')
    await run('silentWebSocket', async () => await silentWebSocket(suite.hub, L))
    await after('silent WebSocket')
  })

  it(`soak: every attack in rounds for ${SOAK_MINUTES} minutes`, async () => {
    const end = Date.now() + SOAK_MINUTES * 60_000
    const rss: string[] = []
    await run('bigRoom', async () => await bigRoom(suite.hub, 'soak-big', 4 << 20))
    for (let round = 0; Date.now() < end; round++) {
      const seed = SEED + 1000 + round
      await run('fuzzFrames', async () => await fuzzFrames(suite.hub, seed, 20, 50))
      await after(`soak ${round}: fuzz (seed ${seed})`)
      await run('presenceFlood', async () => await presenceFlood(suite.hub, `soak-presence-${round}`, 10_001))
      await run('presenceBigState', async () => await presenceBigState(suite.hub, `soak-big-state-${round}`, 60_000))
      await after(`soak ${round}: presence`)
      await run('presenceSpoof', async () => await presenceSpoof(suite.hub, `soak-spoof-${round}`))
      await run('signalSpoof', async () => await signalSpoof(suite.hub, `soak-signal-${round}`))
      await after(`soak ${round}: spoofing`)
      await run('slowReader', async () => await slowReader(suite.hub, 'soak-big', 4 << 20, L.maxQueuedBytes, 100))
      await after(`soak ${round}: slow reader`)
      await run('reassemblyFlood', async () => await reassemblyFlood(suite.hub, L, 4))
      await after(`soak ${round}: reassembly`)
      await run('roomFlood', async () => await roomFlood(suite.hub, L, `soak-${round}`))
      await after(`soak ${round}: rooms`)
      await run('perIpRate', async () => await perIpRate(suite.hub, 10, 300))
      await run('wrongVersion', async () => await wrongVersion(suite.hub, 7))
      await run('slowloris', async () => await slowloris(suite.hub, L, 300, 10, async () => { await after(`soak ${round}: slowloris (open)`) }))
      await after(`soak ${round}: slowloris`)
      rss.push(mb())
      console.log(`soak round ${round}: RSS ${rss[rss.length - 1]} (max ${(suite.hub.maxRssKb / 1024).toFixed(0)} MB)`)
    }
    expect(rss.length).toBeGreaterThan(0)
  })
})

/**
 * Three `aegis-hub` processes on 127.0.0.1 form a Raft group (`--id`,
 * `--peers`); clients write through the KV on every hub; the leader is
 * killed with SIGKILL mid-stream; a new leader takes over and no
 * acknowledged write is lost; the killed hub restarts from its write-ahead
 * log and catches up — by snapshot install, since the others compacted
 * their logs past where it stopped (`--snapshot-every 25`). Needs dist/
 * (`npm test` builds it).
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type WebSocketProvider } from 'aegis-replication/websocket'
import { freePort, until as untilWithin } from '../support/net.js'
import { type Proc, dec, enc, leaderAmong, raftOf, requireDist, useHubProcesses } from '../support/hub-process.js'

const until = async (cond: () => Promise<boolean> | boolean, what: string, ms = 30_000): Promise<void> => { await untilWithin(cond, what, ms, 20) }
const hubs = useHubProcesses(until)

describe('three aegis-hub processes as one Raft group', () => {
  it('survive kill -9 of the leader without losing an acknowledged write; the killed hub catches up by snapshot', async () => {
    requireDist()
    const dataRoot = await hubs.dataDir('aegis-raft-e2e-')
    const ids = ['n1', 'n2', 'n3']
    const ports = Object.fromEntries(await Promise.all(ids.map(async id => [id, await freePort()] as const)))
    const urlOf = (id: string): string => `ws://127.0.0.1:${ports[id]}`
    const procs = new Map<string, Proc>()
    const start = async (id: string): Promise<void> => {
      const peers = ids.filter(p => p !== id).map(p => `${p}=${urlOf(p)}`).join(',')
      procs.set(id, await hubs.start(id, ports[id], ['--data', join(dataRoot, id), '--id', id, '--peers', peers, '--snapshot-every', '25'], { AEGIS_HUB_CLUSTER_SECRET: 'raft-e2e-test-secret-0123456789' }))
    }
    await Promise.all(ids.map(start))
    const leader = async (): Promise<string | undefined> => await leaderAmong(ports, ids)
    await until(async () => (await leader()) !== undefined, 'a first leader')

    // one writer per hub; each write is acknowledged or not, and only acknowledged ones count
    const acked = new Map<string, string>()
    let stop = false
    const writers = ids.map(async (id) => {
      const p: WebSocketProvider = hubs.provider(urlOf(id), 'e2e')
      for (let i = 0; !stop; i++) {
        const key = `${id}/${i}`
        try {
          await p.kv.put(key, enc(String(i)))
          acked.set(key, String(i))
        } catch {
          await new Promise(r => setTimeout(r, 50)) // its hub is down or electing: try the next key
        }
      }
    })

    await until(() => acked.size >= 60, '60 acknowledged writes')
    const old = (await leader())!
    const before = (await raftOf(ports[old]))!
    procs.get(old)!.child.kill('SIGKILL')
    const killedAt = Date.now()
    const survivors = ids.filter(id => id !== old)
    await until(async () => {
      const l = await leader()
      return l !== undefined && l !== old
    }, 'a new leader among the survivors')
    const ackedAtKill = acked.size
    await until(() => acked.size >= ackedAtKill + 100, '100 more writes through the new leader')
    const failoverMs = Date.now() - killedAt

    // the killed hub restarts from its log; the others compacted far past it, so
    // what it lacks can only come as a snapshot
    for (const id of survivors) expect((await raftOf(ports[id]))!.snapshotIndex).toBeGreaterThan(before.applied + 1)
    await start(old)
    stop = true
    await Promise.all(writers)
    const target = (await raftOf(ports[survivors[0]]))!.commit
    await until(async () => ((await raftOf(ports[old]))?.applied ?? 0) >= target, `${old} caught up to ${target}`)
    const after = (await raftOf(ports[old]))!
    expect(after.snapshotIndex).toBeGreaterThan(before.applied)

    // every acknowledged write is there, read linearizably through each hub
    for (const id of ids) {
      const p = hubs.provider(urlOf(id), 'e2e-read')
      const entries = await p.kv.range('', null)
      const got = new Map(entries.map(e => [e.key, dec(e.value)]))
      for (const [k, v] of acked) expect(got.get(k), `${k} through ${id}`).toBe(v)
    }
    console.log(`raft e2e: ${acked.size} acknowledged writes, leader ${old} killed, writes resumed after ${failoverMs} ms; ${old} restarted and installed a snapshot at ${after.snapshotIndex}`)
  })
})

/**
 * Three `aegis-hub` processes on 127.0.0.1 form a Raft group (`--id`,
 * `--peers`); clients write through the KV on every hub; the leader is
 * killed with SIGKILL mid-stream; a new leader takes over and no
 * acknowledged write is lost; the killed hub restarts from its write-ahead
 * log and catches up — by snapshot install, since the others compacted
 * their logs past where it stopped (`--snapshot-every 25`). Needs dist/
 * (`npm test` builds it).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { Doc } from 'aegis-replication'
import { WebSocketProvider } from 'aegis-replication/websocket'
import { freePort, until as untilWithin } from '../support/net.js'

const until = async (cond: () => Promise<boolean> | boolean, what: string, ms = 30_000): Promise<void> => { await untilWithin(cond, what, ms, 20) }

const root = fileURLToPath(new URL('../../', import.meta.url))
const bin = join(root, 'bin/aegis-hub.mjs')
const dist = join(root, 'dist/hub.js')

const children = new Set<ChildProcess>()
const providers: WebSocketProvider[] = []
let dataRoot = ''
afterAll(async () => {
  for (const p of providers) p.destroy()
  for (const c of children) c.kill('SIGKILL')
  if (dataRoot !== '') await rm(dataRoot, { recursive: true, force: true })
})


interface RaftMetrics { id: string, role: string, leader: string | null, term: number, commit: number, applied: number, snapshotIndex: number }

const raftOf = async (port: number): Promise<RaftMetrics | undefined> => {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/metrics.json`)
    return ((await r.json()) as { raft?: RaftMetrics }).raft
  } catch {
    return undefined // down
  }
}


const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const dec = (b: Uint8Array | null): string | null => b === null ? null : new TextDecoder().decode(b)

describe('three aegis-hub processes as one Raft group', () => {
  it('survive kill -9 of the leader without losing an acknowledged write; the killed hub catches up by snapshot', async () => {
    if (!existsSync(dist)) throw new Error('dist/hub.js is missing: run `npm run build` (npm test builds it)')
    dataRoot = await mkdtemp(join(tmpdir(), 'aegis-raft-e2e-'))
    const ids = ['n1', 'n2', 'n3']
    const ports = Object.fromEntries(await Promise.all(ids.map(async id => [id, await freePort()] as const)))
    const urlOf = (id: string): string => `ws://127.0.0.1:${ports[id]}`
    const procs = new Map<string, ChildProcess>()
    const start = async (id: string): Promise<void> => {
      const peers = ids.filter(p => p !== id).map(p => `${p}=${urlOf(p)}`).join(',')
      const child = spawn(process.execPath, [bin, '--port', String(ports[id]), '--data', join(dataRoot, id), '--id', id, '--peers', peers, '--snapshot-every', '25'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AEGIS_HUB_CLUSTER_SECRET: 'raft-e2e-test-secret-0123456789' } })
      children.add(child)
      procs.set(id, child)
      let out = ''
      child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
      child.stderr!.on('data', (d: Buffer) => { out += d.toString() })
      child.once('exit', () => { children.delete(child) })
      await until(async () => (await raftOf(ports[id])) !== undefined || child.exitCode !== null, `hub ${id} listening`)
      if (child.exitCode !== null) throw new Error(`hub ${id} exited:\n${out}`)
    }
    await Promise.all(ids.map(start))
    const leader = async (): Promise<string | undefined> => {
      const ms = await Promise.all(ids.map(async id => await raftOf(ports[id])))
      const ls = ms.filter(m => m?.role === 'leader')
      return ls.length === 1 ? ls[0]!.id : undefined
    }
    await until(async () => (await leader()) !== undefined, 'a first leader')

    // one writer per hub; each write is acknowledged or not, and only acknowledged ones count
    const acked = new Map<string, string>()
    let stop = false
    const writers = ids.map(async (id) => {
      const p = new WebSocketProvider(urlOf(id), 'e2e', new Doc(), { WebSocket: WebSocket as never })
      providers.push(p)
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
    procs.get(old)!.kill('SIGKILL')
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
      const p = new WebSocketProvider(urlOf(id), 'e2e-read', new Doc(), { WebSocket: WebSocket as never })
      providers.push(p)
      const entries = await p.kv.range('', null)
      const got = new Map(entries.map(e => [e.key, dec(e.value)]))
      for (const [k, v] of acked) expect(got.get(k), `${k} through ${id}`).toBe(v)
    }
    console.log(`raft e2e: ${acked.size} acknowledged writes, leader ${old} killed, writes resumed after ${failoverMs} ms; ${old} restarted and installed a snapshot at ${after.snapshotIndex}`)
  })
})

/**
 * `aegis-hub` processes on 127.0.0.1 sharing a cluster secret file: a hub
 * without the secret refuses to start with --join, one with the wrong
 * secret never gets in; a 2 MiB put gets `TooLarge` and the group keeps
 * committing; a hub whose data directory is wiped and restarted is refused
 * as a voter and comes back with `aegis-hub members remove` / `members add`;
 * a 4th hub joins with --join and serves reads. Needs dist/ (`npm test`
 * builds it).
 */
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type WebSocketProvider } from 'aegis-replication/websocket'
import { adminRequest } from '../../adapters/hub/admin-client.js'
import { freePort, until as untilWithin } from '../support/net.js'
import { type Proc, dec, enc, exited, leaderAmong, raftOf, requireDist, useHubProcesses } from '../support/hub-process.js'

const until = async (cond: () => Promise<boolean> | boolean, what: string, ms = 60_000): Promise<void> => { await untilWithin(cond, what, ms, 50) }
const hubs = useHubProcesses(until)
const run = hubs.run

describe('aegis-hub processes: cluster secret and membership', () => {
  it('refuse hubs without the secret; TooLarge keeps the group going; a wiped hub is refused until re-added; a 4th hub joins', { timeout: 240_000 }, async () => {
    requireDist()
    const dataRoot = await hubs.dataDir('aegis-raft-members-e2e-')
    const secretFile = join(dataRoot, 'cluster-secret')
    await writeFile(secretFile, 'e2e-members-secret-0123456789abcdef0123456789\n') // the file's newline is trimmed
    const wrongFile = join(dataRoot, 'wrong-secret')
    await writeFile(wrongFile, 'not-the-cluster-secret-0123456789abcdef\n')
    const ids = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6']
    const ports = Object.fromEntries(await Promise.all(ids.map(async id => [id, await freePort()] as const)))
    const urlOf = (id: string): string => `ws://127.0.0.1:${ports[id]}`
    const procs = new Map<string, Proc>()
    const t0 = Date.now()
    const phases: string[] = []
    const phase = (name: string): void => { phases.push(`${name} ${((Date.now() - t0) / 1000).toFixed(1)}s`) }
    const group = ['n1', 'n2', 'n3']
    const start = async (id: string, extra: string[]): Promise<Proc> => {
      const p = await hubs.start(id, ports[id], ['--data', join(dataRoot, id), '--id', id, '--no-fsync', ...extra])
      procs.set(id, p)
      return p
    }
    const peersOf = (id: string): string => group.filter(p => p !== id).map(p => `${p}=${urlOf(p)}`).join(',')
    await Promise.all(group.map(async id => await start(id, ['--peers', peersOf(id), '--cluster-secret-file', secretFile])))
    const leader = async (among: string[]): Promise<string | undefined> => await leaderAmong(ports, among)
    await until(async () => (await leader(group)) !== undefined, 'a first leader')
    const kvAt = (id: string): WebSocketProvider['kv'] => {
      return hubs.provider(urlOf(id), 'e2e-members').kv
    }
    const members = async (...args: string[]): Promise<string> => {
      const p = run(['members', ...args, '--cluster-secret-file', secretFile])
      const code = await exited(p)
      if (code !== 0) throw new Error(`members ${args.join(' ')} failed (${code}):\n${p.out()}`)
      return p.out()
    }
    const SECRET = 'e2e-members-secret-0123456789abcdef0123456789'
    // polls in-process (a members process per poll would load the machine); the command itself runs below
    const listed = async (id: string): Promise<Array<{ id: string, role: string, memberId: string | null }>> => {
      const a = await adminRequest(urlOf(id), SECRET, { op: 'list' }, { timeoutMs: 10_000 }).catch(() => undefined)
      return a?.ok === true ? a.members : []
    }
    await until(async () => { const l = await listed('n1'); return l.length === 3 && l.every(m => m.memberId !== null) }, 'every member id bound')

    phase('group up')
    // no secret: a joining hub refuses to start, and says how to make one; the wrong secret: it starts but
    // never gets in (both run while the group takes a 2 MiB put: process start-up is slow on a loaded machine)
    const noSecret = run(['--port', String(ports.n5), '--data', join(dataRoot, 'n5'), '--id', 'n5', '--join', urlOf('n1')])
    const wrong = run(['--port', String(ports.n6), '--data', join(dataRoot, 'n6'), '--id', 'n6', '--join', urlOf('n1'), '--cluster-secret-file', wrongFile])

    // a 2 MiB put fails alone; the group keeps committing
    const kv = kvAt('n2')
    await expect(kv.put('big', new Uint8Array(2 * 1024 * 1024))).rejects.toThrow(/over the group's limit/)
    await kv.put('after-big', enc('ok'))
    expect(dec(await kvAt('n1').get('after-big'))).toBe('ok')
    phase('TooLarge')

    expect(await exited(noSecret)).not.toBe(0)
    expect(noSecret.out()).toMatch(/openssl rand -hex 32/)
    await until(() => wrong.out().includes('join failed'), 'the wrong-secret hub to be refused')
    expect(wrong.out()).toMatch(/does not know this cluster's secret/)
    expect((await listed('n2')).map(m => m.id)).toEqual(['n1', 'n2', 'n3'])
    wrong.child.kill('SIGKILL')
    phase('no or wrong secret refused')
    // n3 loses its disk: same id and peers, a new member id; the others refuse it
    procs.get('n3')!.child.kill('SIGKILL')
    await exited(procs.get('n3')!)
    await rm(join(dataRoot, 'n3'), { recursive: true, force: true })
    await start('n3', ['--peers', peersOf('n3'), '--cluster-secret-file', secretFile])
    const othersLog = (): string => procs.get('n1')!.out() + procs.get('n2')!.out()
    await until(() => othersLog().includes('new data directory'), 'the group to refuse the wiped n3')
    await kvAt('n1').put('while-n3-refused', enc('2'))
    phase('wiped n3 refused')
    // re-add it
    await members('remove', 'n3', '--hub', urlOf('n1'))
    await members('add', `n3=${urlOf('n3')}`, '--hub', urlOf('n2'))
    await until(async () => (await raftOf(ports.n3))?.voters.includes('n3') === true && (await listed('n1')).some(m => m.id === 'n3' && m.role === 'voter'), 'n3 a voter again')
    expect(dec(await kvAt('n3').get('while-n3-refused'))).toBe('2')

    phase('n3 re-added')
    // a 4th hub joins with --join and serves reads
    await start('n4', ['--join', urlOf('n2'), '--cluster-secret-file', secretFile])
    await until(async () => (await raftOf(ports.n4))?.voters.includes('n4') === true, 'n4 promoted to voter')
    expect(dec(await kvAt('n4').get('after-big'))).toBe('ok')
    const list = await members('list', '--hub', urlOf('n3'))
    expect(list).toMatch(new RegExp(`^n4\\tvoter.*${urlOf('n4')}`, 'm'))
    await kvAt('n4').put('from-n4', enc('4'))
    expect(dec(await kvAt('n1').get('from-n4'))).toBe('4')
    phase('n4 joined')
    console.log(`raft members e2e: ${phases.join(', ')}`)
  })
})

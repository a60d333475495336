/** Issue 9, findings 1 and 6: presence floods and oversized states cannot crash the hub; presence cannot be spoofed. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import * as encoding from 'lib0/encoding'
import { Doc } from '../../../src/doc/index.js'
import {
  Access, decodeAwarenessUpdate, encodeAwarenessEntries, ErrorCode, MessageType, type AuthDecision, type SyncMessage
} from '../../../src/sync/index.js'
import { setupHub, settle } from './hardening-setup.js'

let rejections: unknown[] = []
const onRejection = (err: unknown): void => { rejections.push(err) }
beforeEach(() => { rejections = []; process.on('unhandledRejection', onRejection) })
afterEach(() => { process.off('unhandledRejection', onRejection) })
/** Lets Node report unhandled rejections (it does so after the microtasks of a macrotask). */
const turn = async (): Promise<void> => { await settle(); await new Promise(resolve => setImmediate(resolve)); await new Promise(resolve => setImmediate(resolve)) }

const auth = (token: string): AuthDecision => token === 'w' ? 'write' : 'read'

const presence = (room: string, entries: Array<{ clientID: number, clock: number, state: Record<string, unknown> | null }>): SyncMessage =>
  ({ type: MessageType.Awareness, room, update: encodeAwarenessEntries(entries) })

const awarenessIn = (received: SyncMessage[]): number[] =>
  received.flatMap(m => m.type === MessageType.Awareness ? decodeAwarenessUpdate(m.update).map(e => e.clientID) : [])

describe('hub presence bounds (finding 1)', () => {
  it('10,001 client ids announced in two frames by a read-only client, then a disconnect, do not crash the hub', async () => {
    const { connect, rooms, server } = setupHub({ auth })
    const evil = connect()
    evil.join('r', { token: 'r', access: Access.Read })
    await settle()
    const batch = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ clientID: from + i, clock: 1, state: { i } }))
    evil.send(presence('r', batch(1, 5001)))
    evil.send(presence('r', batch(5002, 5000)))
    await settle()
    expect(rooms.get('r')!.presenceStates.size).toBe(16) // maxPresencePerConnection
    expect(evil.errors()).toContainEqual({ room: 'r', code: ErrorCode.TooLarge })
    evil.drop()
    await turn()
    expect(rejections).toEqual([])
    expect(rooms.get('r')!.presenceStates.size).toBe(0)
    const bystander = connect()
    bystander.join('r', { token: 'w' })
    await settle()
    expect(bystander.received.map(m => m.type)).toContain(MessageType.SyncStep2)
    expect(server.connectionCount).toBe(1)
  })

  it('a state that re-serialises above 64 KiB is refused; the next join works', async () => {
    const { connect, rooms } = setupHub({ auth })
    const evil = connect()
    evil.join('r', { token: 'r' })
    await settle()
    // 12,000 × "9e20" is ~60 KB on the wire and ~264 KB once JSON.stringify writes out the digits
    const json = `{"n":[${new Array(12_000).fill('9e20').join(',')}]}`
    expect(json.length).toBeLessThan(64 * 1024)
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 1); encoding.writeVarUint(e, 42); encoding.writeVarUint(e, 1); encoding.writeVarString(e, json)
    evil.send({ type: MessageType.Awareness, room: 'r', update: encoding.toUint8Array(e) })
    await settle()
    expect(rooms.get('r')!.presenceStates.has(42)).toBe(false)
    expect(evil.errors()).toContainEqual({ room: 'r', code: ErrorCode.TooLarge })
    const bystander = connect()
    bystander.join('r', { token: 'w' })
    await turn()
    expect(rejections).toEqual([])
    expect(bystander.received.map(m => m.type)).toEqual([MessageType.Joined, MessageType.SyncStep2, MessageType.SyncStep1])
  })

  it('caps client ids per connection and per room, and state size as re-encoded', async () => {
    const { connect, rooms } = setupHub({ maxPresencePerConnection: 2, maxPresencePerRoom: 3, maxPresenceStateBytes: 100 })
    const a = connect(); const b = connect(); const watcher = connect()
    for (const c of [a, b, watcher]) c.join('r')
    await settle()
    a.send(presence('r', [{ clientID: 1, clock: 1, state: {} }, { clientID: 2, clock: 1, state: {} }, { clientID: 3, clock: 1, state: {} }]))
    b.send(presence('r', [{ clientID: 4, clock: 1, state: { big: 'x'.repeat(200) } }, { clientID: 5, clock: 1, state: {} }, { clientID: 6, clock: 1, state: {} }]))
    await settle()
    expect([...rooms.get('r')!.presenceStates.keys()].sort()).toEqual([1, 2, 5])
    // only what was admitted is relayed
    expect(awarenessIn(watcher.received).sort()).toEqual([1, 2, 5])
  })
})

describe('hub presence ownership (finding 6)', () => {
  it('a read-only member cannot overwrite or remove another connection\'s client id, nor remove it by leaving', async () => {
    const { connect, rooms, logs } = setupHub({ auth })
    const owner = connect(); const evil = connect(); const watcher = connect()
    owner.join('r', { token: 'w' }); evil.join('r', { token: 'r' }); watcher.join('r', { token: 'r' })
    await settle()
    owner.send(presence('r', [{ clientID: 7, clock: 1, state: { name: 'ann' } }]))
    await settle()
    const relayedBefore = watcher.received.length
    evil.send(presence('r', [{ clientID: 7, clock: 5, state: { name: 'mallory' } }]))
    evil.send(presence('r', [{ clientID: 7, clock: 9, state: null }]))
    await settle()
    const room = rooms.get('r')!
    expect(room.presenceStates.get(7)).toEqual({ name: 'ann' })
    expect(watcher.received.length).toBe(relayedBefore) // nothing relayed
    expect(logs.filter(l => l.level === 'warn' && l.msg === 'refused awareness entries' && l.fields?.owned === 1).length).toBe(2)
    evil.send({ type: MessageType.Leave, room: 'r' })
    await settle()
    expect(room.presenceStates.get(7)).toEqual({ name: 'ann' })
    // the owner's own updates still go through, and its leaving removes its id
    owner.send(presence('r', [{ clientID: 7, clock: 2, state: { name: 'ann', cursor: 3 } }]))
    await settle()
    expect(room.presenceStates.get(7)).toEqual({ name: 'ann', cursor: 3 })
    owner.drop()
    await settle()
    expect(room.presenceStates.has(7)).toBe(false)
    // the id is free again once its owner left
    const next = connect()
    next.join('r', { token: 'r' })
    await settle()
    next.send(presence('r', [{ clientID: 7, clock: 1, state: { name: 'bob' } }]))
    await settle()
    expect(room.presenceStates.get(7)).toEqual({ name: 'bob' })
  })

  it('the hub\'s own client id (0) cannot be announced', async () => {
    const { connect, rooms } = setupHub()
    const a = connect()
    a.join('r')
    await settle()
    a.send(presence('r', [{ clientID: 0, clock: 3, state: { hub: true } }]))
    await settle()
    expect(rooms.get('r')!.presenceStates.has(0)).toBe(false)
    expect(new Doc().encodeStateVector()).toBeInstanceOf(Uint8Array)
  })
})

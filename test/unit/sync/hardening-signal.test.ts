/** Issue 9, finding 6: a signaling peer id stays with its holder while it reconnects; readers never take a writer's id. */
import { describe, expect, it } from 'vitest'
import { ErrorCode, MessageType, type AuthDecision, type SyncMessage } from '../../../src/sync/index.js'
import { SignalRelay } from '../../../src/sync/signal-relay.js'
import { setupHub, settle, type Raw } from './hardening-setup.js'

const auth = (token: string): AuthDecision => token.startsWith('w') ? 'write' : 'read'

const signalJoin = (c: Raw, token: string): void => c.send({ type: MessageType.SignalJoin, room: 'r', token })
const signal = (c: Raw, from: string, to = ''): void => c.send({ type: MessageType.Signal, room: 'r', from, to, payload: new Uint8Array([1]) })
const taken = (c: Raw): boolean => c.received.some((m: SyncMessage) => m.type === MessageType.Error && m.code === ErrorCode.BadMessage && m.reason.includes('taken'))
const heard = (c: Raw): string[] => c.received.flatMap(m => m.type === MessageType.Signal ? [m.from] : [])

describe('signaling peer ids (finding 6)', () => {
  it('a read-only connection cannot take a writer\'s peer id after the writer left, even after the grace period', async () => {
    const { connect, tick } = setupHub({ auth })
    const writer = connect(); const bystander = connect()
    signalJoin(writer, 'w-alice'); signalJoin(bystander, 'r-bob')
    await settle()
    signal(writer, 'alice', 'nobody'); signal(bystander, 'bob', 'nobody')
    await settle()
    writer.drop()
    await settle()
    const evil = connect()
    signalJoin(evil, 'r-mallory')
    await settle()
    signal(evil, 'alice', 'bob')
    await settle()
    expect(taken(evil)).toBe(true)
    expect(heard(bystander)).not.toContain('alice')
    tick(120_000)
    const evil2 = connect()
    signalJoin(evil2, 'r-mallory')
    await settle()
    signal(evil2, 'alice', 'bob')
    await settle()
    expect(taken(evil2)).toBe(true)
    // the writer comes back with its token and takes its id again
    const back = connect()
    signalJoin(back, 'w-alice')
    await settle()
    signal(back, 'alice', 'bob')
    await settle()
    expect(taken(back)).toBe(false)
    expect(heard(bystander)).toEqual(['alice'])
  })

  it('a left holder\'s id is reserved for its token during the grace period, then free', async () => {
    const { connect, tick } = setupHub({ auth, peerIdGraceMs: 60_000 })
    const holder = connect(); const bystander = connect()
    signalJoin(holder, 'r-1'); signalJoin(bystander, 'r-2')
    await settle()
    signal(holder, 'p', 'nobody'); signal(bystander, 'q', 'nobody')
    await settle()
    holder.drop()
    await settle()
    const other = connect()
    signalJoin(other, 'r-3')
    await settle()
    signal(other, 'p', 'q')
    await settle()
    expect(taken(other)).toBe(true)
    tick(30_000)
    const same = connect()
    signalJoin(same, 'r-1')
    await settle()
    signal(same, 'p', 'q')
    await settle()
    expect(taken(same)).toBe(false)
    same.drop()
    await settle()
    tick(60_001)
    const later = connect()
    signalJoin(later, 'r-3')
    await settle()
    signal(later, 'p', 'q')
    await settle()
    expect(taken(later)).toBe(false)
    expect(heard(bystander)).toEqual(['p', 'p'])
  })

  it('sweep() forgets rooms whose members left once their reservations expire', () => {
    let now = 0
    const relay = new SignalRelay(undefined, { now: () => now, graceMs: 1000, writerMemoryMs: 5000 })
    const peer = { id: 'c', send: () => {} }
    relay.relay(peer, { type: MessageType.Signal, room: 'r', from: 'a', to: '', payload: new Uint8Array() }, { tokenHash: 'h', write: true })
    relay.remove('r', peer)
    expect(relay.roomCount).toBe(1)
    now = 2000
    relay.sweep()
    expect(relay.roomCount).toBe(1) // a writer's id is remembered longer
    now = 6000
    relay.sweep()
    expect(relay.roomCount).toBe(0)
  })
})

/** Issue 9, findings 2 (core), 4 and 9 (part): slow consumers, room caps, the version close code, per-IP rate limits. */
import { describe, expect, it } from 'vitest'
import { Doc } from '../../../src/doc/index.js'
import { encodeMessage, ErrorCode, MessageType, PROTOCOL_VERSION } from '../../../src/sync/index.js'
import { EMPTY_SV, setupHub, settle } from './hardening-setup.js'

describe('room caps (finding 4)', () => {
  it('a connection may join at most 100 rooms by default', async () => {
    const { connect, opened } = setupHub()
    const a = connect()
    for (let i = 0; i <= 100; i++) a.join(`r${i}`)
    await settle()
    expect(opened.length).toBe(100)
    expect(a.errors()).toEqual([{ room: 'r100', code: ErrorCode.Denied }])
  })

  it('a join that would open a room past maxOpenRooms gets Busy (4503); open rooms stay joinable', async () => {
    const { connect, opened, server, rooms } = setupHub({ maxOpenRooms: 3 })
    const a = connect(); const b = connect()
    for (const r of ['r1', 'r2', 'r3']) a.join(r)
    await settle()
    b.join('r4')
    b.join('r1')
    await settle()
    expect(opened).toEqual(['r1', 'r2', 'r3'])
    expect(b.errors()).toEqual([{ room: 'r4', code: ErrorCode.Busy }])
    expect(b.received.some(m => m.type === MessageType.Joined && m.room === 'r1')).toBe(true)
    expect(b.closed).toEqual([])
    expect(server.stats().openRooms).toBe(3)
    // once the driver unloads an idle room, a new one may open
    a.send({ type: MessageType.Leave, room: 'r2' })
    await settle()
    expect(server.closeRoom(rooms.get('r2')!)).toBe(true)
    const c = connect()
    c.join('r4')
    await settle()
    expect(c.received.some(m => m.type === MessageType.Joined && m.room === 'r4')).toBe(true)
  })
})

describe('protocol version (finding 9)', () => {
  it('a frame of another protocol version is closed with Version (4426)', () => {
    const { connect, server } = setupHub()
    const a = connect()
    const f = encodeMessage({ type: MessageType.Leave, room: 'r' })
    f[0] = PROTOCOL_VERSION + 1
    a.frame(f)
    expect(a.closed).toEqual([{ code: ErrorCode.Version, reason: expect.stringContaining('protocol version') }])
    expect(server.stats().closedByCode).toEqual({ [ErrorCode.Version]: 1 })
    expect(server.connectionCount).toBe(0)
  })
})

describe('per-IP rate limits (finding 9)', () => {
  it('connections from one IP share a bucket; other IPs are not affected; the bucket goes with the last connection', () => {
    const { connect, server } = setupHub({ messagesPerSecondPerIp: 100, burstSeconds: 1, messagesPerSecond: 500 })
    const same = Array.from({ length: 10 }, () => connect({ ip: '192.0.2.1' }))
    const other = connect({ ip: '192.0.2.2' })
    const ping = encodeMessage({ type: MessageType.Leave, room: 'nowhere' })
    for (let round = 0; round < 20; round++) {
      for (const c of same) c.frame(ping)
      other.frame(ping)
    }
    const limited = same.filter(c => c.closed.some(x => x.code === ErrorCode.RateLimited))
    // 200 messages from one IP against a shared burst of 100: each of its connections is closed on its next message past it
    expect(limited.length).toBe(10)
    expect(other.closed).toEqual([])
    expect(server.stats().ips).toBe(1) // the closed connections released their IP's bucket
    for (const c of same) c.drop()
    other.drop()
    expect(server.stats().ips).toBe(0)
  })
})

describe('slow consumers (finding 2, core)', () => {
  /** A room holding `bytes` of state, and a client whose socket never drains: every frame sent stays queued. */
  const bigRoom = async (options: { maxQueuedBytes: number }, bytes: number) => {
    const hub = setupHub(options)
    const writer = hub.connect()
    writer.join('r')
    await settle()
    const d = new Doc({ replicaId: 'w' })
    d.map('m').set('blob', 'x'.repeat(bytes))
    writer.send({ type: MessageType.Update, room: 'r', seq: 1, update: d.encodeStateAsUpdate() })
    await settle()
    let queued = 0
    const reader = hub.connect({ bufferedAmount: () => queued })
    const sent = (): number => reader.received.length
    return { ...hub, writer, reader, sent, queue: (n: number) => { queued += n }, queued: () => queued }
  }

  it('repeated sync-step-1 requests are not answered while earlier answers are still queued', async () => {
    const { reader, queue, received } = await (async () => {
      const h = await bigRoom({ maxQueuedBytes: 8 * 1024 * 1024 }, 300 * 1024)
      return { ...h, received: h.reader.received }
    })()
    reader.join('r')
    await settle()
    // the client never reads: everything sent stays queued
    let answered = 0
    for (let i = 0; i < 50; i++) {
      reader.send({ type: MessageType.SyncStep1, room: 'r', stateVector: EMPTY_SV })
      await settle()
      const step2 = received.filter(m => m.type === MessageType.SyncStep2).length
      if (step2 > answered) { queue(300 * 1024 * (step2 - answered)); answered = step2 }
    }
    // answered until a frame's worth (1 MiB) is queued, then not: ~1.2 MiB held, not 50 × 300 KiB
    expect(answered).toBeLessThanOrEqual(5)
    expect(reader.closed).toEqual([])
  })

  it('a connection with more than maxQueuedBytes queued is closed with SlowConsumer (4408) instead of sent to', async () => {
    const { reader, writer, queue, server } = await bigRoom({ maxQueuedBytes: 1024 * 1024 }, 10)
    reader.join('r')
    await settle()
    const before = reader.received.length
    queue(2 * 1024 * 1024)
    const d = new Doc({ replicaId: 'w2' })
    d.map('m').set('k', 1)
    writer.send({ type: MessageType.Update, room: 'r', seq: 2, update: d.encodeStateAsUpdate() })
    await settle()
    expect(reader.closed).toEqual([{ code: ErrorCode.SlowConsumer, reason: expect.any(String) }])
    expect(reader.received.length).toBe(before)
    expect(writer.received.some(m => m.type === MessageType.Ack && m.to === 2)).toBe(true)
    expect(server.stats().closedByCode[ErrorCode.SlowConsumer]).toBe(1)
  })
})

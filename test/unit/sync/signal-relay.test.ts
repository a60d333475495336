import { describe, expect, it } from 'vitest'
import { Doc } from '../../../src/doc/index.js'
import {
  decodeMessage, encodeMessage, ErrorCode, HubRoom, MessageType, SyncClient, SyncServer,
  type AuthDecision, type ClientRoom, type SyncMessage
} from '../../../src/sync/index.js'

const settle = async (): Promise<void> => { for (let i = 0; i < 20; i++) await Promise.resolve() }
const bytes = (...b: number[]): Uint8Array => new Uint8Array(b)

/** A hub and clients wired directly; counts the rooms the hub opened (signaling alone opens none). */
const setup = (auth?: (token: string, room: string) => AuthDecision) => {
  const opened: string[] = []
  const server = new SyncServer({
    auth,
    openRoom: async (name) => {
      opened.push(name)
      return new HubRoom(name, new Doc({ replicaId: 'hub' }), { append: async () => {} })
    }
  })
  let n = 0
  const connect = () => {
    const received: SyncMessage[] = []
    // eslint-disable-next-line prefer-const
    let client: SyncClient
    const conn = server.connect(`c${n++}`, {
      send: (f) => { received.push(decodeMessage(f)); client.receive(f) },
      close: () => client.disconnected()
    })
    client = new SyncClient({ send: (f) => conn.receive(f) })
    client.connected()
    return { client, conn, received }
  }
  return { server, connect, opened }
}

/** Adds a signaling room and records the signals it hears. */
const signaling = (client: SyncClient, room: string, peerId: string, opts: { token?: string, sync?: boolean } = {}) => {
  const heard: Array<{ from: string, to: string, payload: number[] }> = []
  const r: ClientRoom = client.addRoom(room, new Doc(), { sync: false, peerId, ...opts })
  r.on('signal', (from, payload, to) => heard.push({ from, to, payload: [...payload] }))
  return { room: r, heard }
}

const errorsOf = (received: SyncMessage[]) => received.filter(m => m.type === MessageType.Error)

describe('signaling through the hub', () => {
  it('relays to one peer or to every peer of the room, without opening the room', async () => {
    const { connect, opened } = setup()
    const a = signaling(connect().client, 'r', 'a')
    const b = signaling(connect().client, 'r', 'b')
    const c = signaling(connect().client, 'r', 'c')
    await settle()
    expect([a.room.status, b.room.status, c.room.status]).toEqual(['synced', 'synced', 'synced'])
    expect(a.room.sendSignal('', bytes(1))).toBe(true)
    await settle()
    expect(b.heard).toEqual([{ from: 'a', to: '', payload: [1] }])
    expect(c.heard).toEqual([{ from: 'a', to: '', payload: [1] }])
    expect(a.heard).toEqual([])
    b.room.sendSignal('a', bytes(2))
    await settle()
    expect(a.heard).toEqual([{ from: 'b', to: 'a', payload: [2] }])
    expect(c.heard).toHaveLength(1)
    expect(opened).toEqual([])
  })

  it('binds a connection to its first peer id: another id from it, or an id another holds, is refused', async () => {
    const { connect } = setup()
    const ca = connect()
    const a = signaling(ca.client, 'r', 'a')
    const b = signaling(connect().client, 'r', 'b')
    const cm = connect()
    const mallory = signaling(cm.client, 'r', 'm')
    await settle()
    b.room.sendSignal('', bytes(0)) // b announces itself: its id is bound now
    await settle()
    a.room.sendSignal('b', bytes(1))
    await settle()
    expect(b.heard).toHaveLength(1)
    // the same connection now claims to be 'x'
    ca.conn.receive(encodeMessage({ type: MessageType.Signal, room: 'r', from: 'x', to: 'b', payload: bytes(9) }))
    // a fresh connection that never signalled claims 'a'
    cm.conn.receive(encodeMessage({ type: MessageType.Signal, room: 'r', from: 'a', to: 'b', payload: bytes(8) }))
    await settle()
    expect(b.heard).toHaveLength(1)
    expect(errorsOf(ca.received)).toMatchObject([{ code: ErrorCode.BadMessage, reason: expect.stringMatching(/signals as "a"/) }])
    expect(errorsOf(cm.received)).toMatchObject([{ code: ErrorCode.BadMessage, reason: expect.stringMatching(/taken/) }])
    // the refused connections stay joined and keep working under their own ids
    expect(a.room.status).toBe('synced')
    mallory.room.sendSignal('b', bytes(3))
    await settle()
    expect(b.heard.map(h => h.from)).toEqual(['a', 'm'])
  })

  it('drops signals to unknown peers; other rooms hear nothing', async () => {
    const { connect } = setup()
    const a = signaling(connect().client, 'r', 'a')
    const b = signaling(connect().client, 'r', 'b')
    const other = signaling(connect().client, 's', 'b')
    await settle()
    a.room.sendSignal('nobody', bytes(1))
    a.room.sendSignal('', bytes(2))
    other.room.sendSignal('a', bytes(3))
    other.room.sendSignal('', bytes(4))
    await settle()
    expect(b.heard).toEqual([{ from: 'a', to: '', payload: [2] }])
    expect(other.heard).toEqual([])
    expect(a.heard).toEqual([])
  })

  it('a read-only client may signal; a denied one may not, even with raw frames', async () => {
    const auth = (token: string): AuthDecision => token === 'rw' ? 'write' : token === 'ro' ? 'read' : 'deny'
    const { connect } = setup(auth)
    const w = signaling(connect().client, 'r', 'w', { token: 'rw' })
    const ro = signaling(connect().client, 'r', 'ro', { token: 'ro' })
    const cd = connect()
    const denied = signaling(cd.client, 'r', 'd', { token: 'nope' })
    await settle()
    expect(ro.room.access).toBe('read')
    expect(denied.room.status).toBe('denied')
    w.room.sendSignal('nobody', bytes(0)) // binds 'w'
    ro.room.sendSignal('w', bytes(1))
    expect(denied.room.sendSignal('', bytes(2))).toBe(false)
    cd.conn.receive(encodeMessage({ type: MessageType.Signal, room: 'r', from: 'd', to: '', payload: bytes(3) }))
    await settle()
    expect(w.heard).toEqual([{ from: 'ro', to: 'w', payload: [1] }])
    expect(ro.heard).toEqual([])
    w.room.sendSignal('', bytes(4))
    await settle()
    expect(denied.heard).toEqual([])
    expect(ro.heard).toEqual([{ from: 'w', to: '', payload: [4] }])
  })

  it('a connection that never joined cannot signal', async () => {
    const { connect } = setup()
    const b = signaling(connect().client, 'r', 'b')
    const stranger = connect()
    await settle()
    b.room.sendSignal('', bytes(0))
    stranger.conn.receive(encodeMessage({ type: MessageType.Signal, room: 'r', from: 's', to: 'b', payload: bytes(1) }))
    await settle()
    expect(b.heard).toEqual([])
    expect(errorsOf(stranger.received)).toMatchObject([{ code: ErrorCode.Denied }])
  })

  it('sync members signal too; leaving or disconnecting frees the peer id', async () => {
    const { connect, opened } = setup()
    const ca = connect()
    const a = signaling(ca.client, 'r', 'a', { sync: true })
    const b = signaling(connect().client, 'r', 'b')
    await settle()
    expect(opened).toEqual(['r'])
    expect(a.room.synced).toBe(true)
    b.room.sendSignal('', bytes(0)) // a sync member hears broadcasts only once it signalled itself
    a.room.sendSignal('b', bytes(1))
    b.room.sendSignal('a', bytes(2))
    await settle()
    expect(b.heard).toEqual([{ from: 'a', to: 'b', payload: [1] }])
    expect(a.heard).toEqual([{ from: 'b', to: 'a', payload: [2] }])
    ca.conn.disconnected()
    await settle()
    b.room.sendSignal('a', bytes(3))
    const a2 = signaling(connect().client, 'r', 'a')
    await settle()
    a2.room.sendSignal('b', bytes(4))
    await settle()
    expect(b.heard.map(h => h.payload)).toEqual([[1], [4]])
    expect(a2.heard).toEqual([])
    // leave: no broadcasts any more
    const cc = connect()
    const c = signaling(cc.client, 'r', 'c')
    await settle()
    cc.client.removeRoom('r')
    await settle()
    b.room.sendSignal('', bytes(5))
    await settle()
    expect(c.heard).toEqual([])
    expect(a2.heard).toEqual([{ from: 'b', to: '', payload: [5] }])
  })

  it('an over-large signal closes the sender\'s connection; the room keeps working', async () => {
    const { connect } = setup()
    const cb = connect()
    const b = signaling(cb.client, 'r', 'b')
    const cm = connect()
    const m = signaling(cm.client, 'r', 'm')
    await settle()
    b.room.sendSignal('', bytes(0))
    cm.conn.receive(encodeMessage({ type: MessageType.Signal, room: 'r', from: 'm', to: 'b', payload: new Uint8Array(64 * 1024 + 1) }))
    await settle()
    expect(errorsOf(cm.received)).toMatchObject([{ room: '', code: ErrorCode.TooLarge }])
    expect(m.room.status).toBe('offline')
    expect(b.heard).toEqual([])
    const c = signaling(connect().client, 'r', 'c')
    await settle()
    c.room.sendSignal('b', bytes(1))
    await settle()
    expect(b.heard).toEqual([{ from: 'c', to: 'b', payload: [1] }])
  })

  it('a signal-only room never sends or applies doc updates', async () => {
    const { connect } = setup()
    const c1 = connect()
    const d1 = new Doc()
    const r1 = c1.client.addRoom('r', d1, { sync: false, peerId: 'p' })
    const writer = connect().client.addRoom('r', new Doc())
    await settle()
    d1.map('m').set('k', 1)
    writer.doc.map('m').set('w', 2)
    await settle()
    expect(r1.pending).toBe(0)
    expect(d1.toJSON()).toEqual({ m: { k: 1 } })
    expect(c1.received.some(m => m.type === MessageType.Update || m.type === MessageType.SyncStep2)).toBe(false)
    expect(() => writer.sendSignal('', bytes())).toThrow(/without a peerId/)
  })
})

import { describe, expect, it } from 'vitest'
import { Doc } from '../../../src/doc/index.js'
import {
  Access, decodeMessage, encodeMessage, ErrorCode, HubRoom, MessageType, SyncClient, SyncServer,
  type AuthDecision, type RoomStore, type SyncMessage
} from '../../../src/sync/index.js'

class Store implements RoomStore {
  readonly updates: Uint8Array[] = []
  async append (u: Uint8Array): Promise<void> { this.updates.push(u) }
}

const settle = async (): Promise<void> => { for (let i = 0; i < 20; i++) await Promise.resolve() }

/** A hub and clients wired directly (reliable, in order), as over WebSocket. */
const setup = (options: { auth?: (token: string, room: string) => AuthDecision, messagesPerSecond?: number } = {}) => {
  const stores = new Map<string, Store>()
  const rooms = new Map<string, HubRoom>()
  let now = 0
  const server = new SyncServer({
    ...options,
    now: () => now,
    openRoom: async (name) => {
      const store = stores.get(name) ?? new Store()
      stores.set(name, store)
      const doc = new Doc({ replicaId: 'hub' })
      for (const u of store.updates) doc.applyUpdate(u)
      const room = new HubRoom(name, doc, store)
      rooms.set(name, room)
      return room
    }
  })
  let n = 0
  const connect = () => {
    const id = `client-${n++}`
    const received: SyncMessage[] = []
    const closed: Array<{ code: number, reason: string }> = []
    // eslint-disable-next-line prefer-const
    let client: SyncClient
    const conn = server.connect(id, {
      send: (f) => { received.push(decodeMessage(f)); client.receive(f) },
      close: (code, reason) => { closed.push({ code, reason }); client.disconnected() }
    })
    client = new SyncClient({ send: (f) => conn.receive(f), now: () => now })
    client.connected()
    return { client, conn, received, closed }
  }
  return { server, connect, rooms, stores, tick: (ms: number) => { now += ms } }
}

describe('SyncServer and SyncClient', () => {
  it('two clients converge through the hub; the hub persists and acknowledges', async () => {
    const { connect, stores } = setup()
    const a = connect(); const b = connect()
    const da = new Doc({ replicaId: 'a' }); const db = new Doc({ replicaId: 'b' })
    da.map('m').set('offline', 1) // before joining
    const ra = a.client.addRoom('r', da)
    const rb = b.client.addRoom('r', db)
    await settle()
    expect(ra.synced && rb.synced).toBe(true)
    db.counter('c').increment(5)
    da.set('s').add('x')
    await settle()
    expect(db.toJSON()).toEqual(da.toJSON())
    expect(da.toJSON()).toEqual({ c: 5, m: { offline: 1 }, s: ['x'] })
    expect(ra.pending).toBe(0)
    expect(rb.pending).toBe(0)
    expect(stores.get('r')!.updates.length).toBeGreaterThan(0)
  })

  it('a reconnecting client sends what it edited offline and gets what it missed', async () => {
    const { connect } = setup()
    const a = connect()
    const da = new Doc({ replicaId: 'a' })
    const ra = a.client.addRoom('r', da)
    await settle()
    a.client.disconnected()
    da.map('m').set('k', 'offline edit')
    expect(ra.pending).toBe(1)
    const b = connect()
    const db = new Doc({ replicaId: 'b' })
    b.client.addRoom('r', db)
    db.map('m').set('j', 'while a was away')
    await settle()
    a.client.connected()
    await settle()
    expect(ra.pending).toBe(0)
    expect(da.toJSON()).toEqual({ m: { j: 'while a was away', k: 'offline edit' } })
    expect(db.toJSON()).toEqual(da.toJSON())
  })

  it('auth: deny keeps the room closed, read-only updates are refused', async () => {
    const { connect, rooms } = setup({ auth: (token) => token === 'w' ? 'write' : token === 'r' ? 'read' : 'deny' })
    const denied = connect(); const reader = connect(); const writer = connect()
    const dd = new Doc(); const dr = new Doc({ replicaId: 'reader' }); const dw = new Doc({ replicaId: 'writer' })
    const rd = denied.client.addRoom('r', dd, { token: 'nope' })
    const rr = reader.client.addRoom('r', dr, { token: 'r' })
    writer.client.addRoom('r', dw, { token: 'w' })
    await settle()
    expect(rd.status).toBe('denied')
    expect(rr.access).toBe(Access.Read)
    dw.map('m').set('k', 1)
    await settle()
    expect(dr.toJSON()).toEqual({ m: { k: 1 } }) // readers receive
    // a reader's edit is never sent by a well-behaved client; force one onto the wire
    reader.conn.receive(encodeMessage({ type: MessageType.Update, room: 'r', seq: 1, update: new Doc({ replicaId: 'evil' }).encodeStateAsUpdate() }))
    await settle()
    expect(reader.received.some(m => m.type === MessageType.Error && m.code === ErrorCode.ReadOnly)).toBe(true)
    expect(rooms.get('r')!.doc.toJSON()).toEqual({ m: { k: 1 } })
    expect(denied.received.some(m => m.type === MessageType.Error && m.code === ErrorCode.Denied)).toBe(true)
  })

  it('a malformed frame closes only that connection; the room keeps its data and the others carry on', async () => {
    const { connect, rooms, server } = setup()
    const good = connect(); const bad = connect()
    const dg = new Doc({ replicaId: 'g' })
    good.client.addRoom('r', dg)
    bad.client.addRoom('r', new Doc({ replicaId: 'b' }))
    dg.map('m').set('k', 1)
    await settle()
    bad.conn.receive(new Uint8Array([1, 4, 1, 114, 1, 9, 9, 9])) // an update whose bytes are garbage
    await settle()
    expect(bad.received.some(m => m.type === MessageType.Error && m.code === ErrorCode.BadMessage)).toBe(true)
    bad.conn.receive(new Uint8Array([7, 7, 7]))
    expect(bad.closed[0].code).toBe(ErrorCode.BadMessage)
    expect(server.connectionCount).toBe(1)
    dg.map('m').set('k2', 2)
    await settle()
    expect(rooms.get('r')!.doc.toJSON()).toEqual({ m: { k: 1, k2: 2 } })
  })

  it('a connection over the rate limit is closed with 4429', async () => {
    const { connect } = setup({ messagesPerSecond: 10 })
    const c = connect()
    c.client.addRoom('r', new Doc())
    await settle()
    for (let i = 0; i < 100 && c.closed.length === 0; i++) c.conn.receive(encodeMessage({ type: MessageType.SyncStep1, room: 'r', stateVector: new Doc().encodeStateVector() }))
    expect(c.closed[0]?.code).toBe(ErrorCode.RateLimited)
  })

  it('a big update crosses as chunks under the frame limit', async () => {
    const stores = new Map<string, Store>()
    const server = new SyncServer({
      maxFrameBytes: 1024,
      openRoom: async (name) => { const s = new Store(); stores.set(name, s); return new HubRoom(name, new Doc({ replicaId: 'hub' }), s) }
    })
    const sizes: number[] = []
    const docs = [new Doc({ replicaId: 'a' }), new Doc({ replicaId: 'b' })]
    const clients = docs.map((doc, i) => {
      // eslint-disable-next-line prefer-const
      let client: SyncClient
      const conn = server.connect(`c${i}`, { send: (f) => { sizes.push(f.length); client.receive(f) }, close: () => {} })
      client = new SyncClient({ send: (f) => { sizes.push(f.length); conn.receive(f) }, maxFrameBytes: 1024 })
      client.connected()
      client.addRoom('r', doc)
      return client
    })
    await settle()
    docs[0].register('blob').set('z'.repeat(200_000))
    await settle()
    expect(docs[1].register('blob').get()).toBe('z'.repeat(200_000))
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1024)
    expect(clients[0].room('r')!.pending).toBe(0)
  })
})

describe('HubRoom presence', () => {
  it('gives a newcomer the current states and removes a leaving connection’s states for the others', async () => {
    const { Awareness, encodeAwarenessUpdate, applyAwarenessUpdate } = await import('../../../src/sync/index.js')
    const { connect } = setup()
    const a = connect(); const b = connect()
    const ra = a.client.addRoom('r', new Doc({ replicaId: 'a' }))
    await settle()
    const alice = new Awareness({ clientID: 1 })
    alice.setLocalState({ name: 'alice' })
    ra.sendAwareness(encodeAwarenessUpdate(alice, [1]))
    await settle()
    const seenByB = new Awareness({ clientID: 2 })
    const rb = b.client.addRoom('r', new Doc({ replicaId: 'b' }))
    rb.on('awareness', (u) => applyAwarenessUpdate(seenByB, u, 'hub'))
    await settle()
    expect(seenByB.getStates().get(1)).toEqual({ name: 'alice' }) // at once, not after a renewal
    a.conn.disconnected() // alice's page closes without a goodbye
    await settle()
    expect(seenByB.getStates().has(1)).toBe(false)
  })
})

describe('held: the hub knows what each client holds durably', () => {
  it('records the state vector a client reports and counts members holding everything', async () => {
    const { connect, rooms } = setup()
    const a = connect(); const b = connect()
    const da = new Doc({ replicaId: 'a' }); const db = new Doc({ replicaId: 'b' })
    const ra = a.client.addRoom('r', da); const rb = b.client.addRoom('r', db)
    da.map('m').set('k', 1)
    await settle()
    const room = rooms.get('r')!
    expect(room.durableCopies()).toBe(0)
    ra.reportHeld() // e.g. after IndexedDB flushed
    rb.reportHeld(new Doc().encodeStateVector()) // b's storage holds nothing yet
    await settle()
    expect(room.heldBy(a.conn)).toBeDefined()
    expect(room.durableCopies()).toBe(1)
    rb.reportHeld()
    await settle()
    expect(room.durableCopies()).toBe(2)
    db.map('m').set('k2', 2) // the hub now holds more than either reported
    await settle()
    expect(room.durableCopies()).toBe(0)
    // a bad vector is refused with an error, the room keeps working
    b.conn.receive(encodeMessage({ type: MessageType.Held, room: 'r', stateVector: new Uint8Array([9, 9, 9]) }))
    await settle()
    expect(b.received.some(m => m.type === MessageType.Error && m.code === ErrorCode.BadMessage)).toBe(true)
  })
})

/**
 * The attacks, each a function of its sizes so the fast suite (`npm test`)
 * and the long one (`npm run test:long`) run the same code. Each one opens
 * its clients from its own loopback address, checks what the hub must do
 * to the offender (the documented close code), and closes its clients;
 * the caller runs {@link checkpoint} after it (hub alive, /healthz 200, RSS
 * under the bound, the bystander acknowledged).
 */
import { connect as tcpConnect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import * as encoding from 'lib0/encoding'
import { Doc } from 'aegis-replication'
import {
  Access, decodeAwarenessUpdate, encodeAwarenessEntries, encodeMessage, ErrorCode, MessageType, splitFrame,
  type AwarenessEntry, type SyncMessage
} from 'aegis-replication/sync'
import { Prng } from 'aegis-replication/testing'
import { type HubProcess, loggedClose, RawClient, RSS_BOUND_MB, waitFor } from './harness.js'

/** Close codes the hub may use on an offender: the protocol's (4xxx) and ws's "message too big". */
export const DOCUMENTED_CLOSES = new Set<number>([...Object.values(ErrorCode), 1009])

/** The limits the suite starts the hub with (`newFlags` of {@link hubFlags}). */
export interface AttackLimits {
  headerTimeoutMs: number
  maxConnectionsPerIp: number
  messagesPerSecondPerIp: number
  maxRoomsPerConnection: number
  maxOpenRooms: number
  maxQueuedBytes: number
  maxReassemblyBytes: number
  maxReassemblyBytesPerConnection: number
  partialMessageTimeoutMs: number
  pingIntervalMs: number
}

export const FAST_LIMITS: AttackLimits = {
  headerTimeoutMs: 2000,
  maxConnectionsPerIp: 100,
  messagesPerSecondPerIp: 200,
  maxRoomsPerConnection: 100,
  maxOpenRooms: 150,
  maxQueuedBytes: 16 << 20,
  maxReassemblyBytes: 24 << 20,
  maxReassemblyBytesPerConnection: 8 << 20,
  partialMessageTimeoutMs: 10_000,
  pingIntervalMs: 5000
}

/** The CLI flags: `flags` exist today, `newFlags` come with the hardening. */
export const hubFlags = (l: AttackLimits): { flags: string[], newFlags: string[] } => ({
  flags: ['--idle-ms', '300'],
  newFlags: [
    '--allow-anonymous',
    '--header-timeout-ms', String(l.headerTimeoutMs),
    '--max-connections-per-ip', String(l.maxConnectionsPerIp),
    '--messages-per-second-per-ip', String(l.messagesPerSecondPerIp),
    '--max-rooms-per-connection', String(l.maxRoomsPerConnection),
    '--max-open-rooms', String(l.maxOpenRooms),
    '--max-queued-bytes', String(l.maxQueuedBytes),
    '--max-reassembly-bytes', String(l.maxReassemblyBytes),
    '--max-reassembly-bytes-per-connection', String(l.maxReassemblyBytesPerConnection),
    '--partial-message-timeout-ms', String(l.partialMessageTimeoutMs),
    '--ping-interval-ms', String(l.pingIntervalMs)
  ]
})

const EMPTY_SV = new Doc().encodeStateVector()
const utf8 = new TextEncoder()

/** A sync join (write unless told), waiting for the handshake to finish (the hub's sync-step-1). */
export const joinRoom = async (c: RawClient, room: string, access: Access = Access.Write, token = ''): Promise<void> => {
  c.send({ type: MessageType.Join, room, token, access, stateVector: EMPTY_SV })
  await waitFor(() => {
    if (c.close !== undefined) throw new Error(`joining ${room}: closed (${c.close.code} ${c.close.reason})`)
    const err = c.got(MessageType.Error, room)[0]
    if (err !== undefined) throw new Error(`joining ${room}: error ${err.code} ${err.reason}`)
    return c.got(MessageType.SyncStep1, room).length > 0
  }, `the handshake of ${room}`)
}

/** The awareness entries `c` received in `room` so far. */
const presenceSeen = (c: RawClient, room: string): AwarenessEntry[] =>
  c.got(MessageType.Awareness, room).flatMap(m => { try { return decodeAwarenessUpdate(m.update) } catch { return [] } })

// ---------------------------------------------------------------- fuzz

/** Valid frames of every kind a client sends, to mutate. */
const sampleFrames = (): Uint8Array[] => {
  const d = new Doc({ replicaId: 'fuzz' })
  d.map('m').set('k', 'v')
  const aw = encodeAwarenessEntries([{ clientID: 77, clock: 1, state: { user: 'f' } }])
  const ms: SyncMessage[] = [
    { type: MessageType.Join, room: 'fuzz', token: '', access: Access.Write, stateVector: d.encodeStateVector() },
    { type: MessageType.Update, room: 'fuzz', seq: 1, update: d.encodeStateAsUpdate() },
    { type: MessageType.SyncStep1, room: 'fuzz', stateVector: d.encodeStateVector() },
    { type: MessageType.SyncStep2, room: 'fuzz', update: d.encodeStateAsUpdate() },
    { type: MessageType.Awareness, room: 'fuzz', update: aw },
    { type: MessageType.Held, room: 'fuzz', stateVector: d.encodeStateVector() },
    { type: MessageType.Leave, room: 'fuzz' },
    { type: MessageType.Signal, room: 'fuzz', from: 'p', to: '', payload: new Uint8Array([1, 2, 3]) },
    { type: MessageType.SignalJoin, room: 'fuzz', token: '' },
    { type: MessageType.KvRequest, room: '', id: 1, token: '', session: 's', seq: 1, command: new Uint8Array([0, 1]) },
    { type: MessageType.Chunk, id: 5, index: 0, count: 3, bytes: new Uint8Array(40) }
  ]
  return ms.map(encodeMessage)
}

const mutate = (prng: Prng, base: Uint8Array): Uint8Array => {
  const f = Uint8Array.from(base)
  switch (prng.int(0, 6)) {
    case 0: return new Uint8Array(prng.int(0, 96)).map(() => prng.int(0, 255)) // random bytes
    case 1: { const n = prng.int(1, 4); for (let i = 0; i < n; i++) f[prng.int(0, f.length - 1)] = prng.int(0, 255); return f }
    case 2: return f.slice(0, prng.int(0, f.length)) // truncated
    case 3: { const out = new Uint8Array(f.length + prng.int(1, 32)); out.set(f); for (let i = f.length; i < out.length; i++) out[i] = prng.int(0, 255); return out }
    case 4: f[1] = prng.int(0, 255); return f // another type
    case 5: { const i = prng.int(2, Math.max(2, f.length - 1)); if (i < f.length) f[i] = 0xff; return f } // a huge varuint
    default: return f // intact
  }
}

/**
 * Random and mutated frames from `connections` sockets (`frames` each,
 * seeded). Every close the hub makes carries a documented code; returns
 * how many it closed.
 */
export const fuzzFrames = async (hub: HubProcess, seed: number, connections: number, frames: number): Promise<number> => {
  const prng = new Prng(seed)
  const samples = sampleFrames()
  let closedByHub = 0
  for (let c = 0; c < connections; c++) {
    const client = await RawClient.open(hub.url, `127.5.${Math.floor(c / 250)}.${(c % 250) + 1}`)
    for (let i = 0; i < frames && client.isOpen; i++) client.sendRaw(mutate(prng, prng.pick(samples)))
    if (client.close === undefined) {
      // everything sent was handled: the hub answers a round trip, or it closes the socket
      await client.roundTrip(`fuzz connection ${c} (seed ${seed})`).catch(() => {})
    }
    if (client.close !== undefined) {
      closedByHub++
      if (!DOCUMENTED_CLOSES.has(client.close.code)) {
        throw new Error(`fuzz (seed ${seed}) connection ${c}: closed with ${client.close.code} (${client.close.reason}), not a documented code`)
      }
    }
    client.terminate()
  }
  return closedByHub
}

// ---------------------------------------------------------------- protocol version

/** A frame in another protocol version is closed with `Version` (4426). */
export const wrongVersion = async (hub: HubProcess, version: number): Promise<void> => {
  const c = await RawClient.open(hub.url, '127.9.0.1')
  const f = encodeMessage({ type: MessageType.Join, room: 'v', token: '', access: Access.Write, stateVector: EMPTY_SV })
  f[0] = version
  c.sendRaw(f)
  const close = await c.closed(`the close after a version-${version} frame`)
  c.terminate()
  if (close.code !== ErrorCode.Version) throw new Error(`a version-${version} frame was closed with ${close.code} (${close.reason}), not ${ErrorCode.Version}`)
}

// ---------------------------------------------------------------- per-IP rate

/**
 * `connections` sockets from one IP each send `perConnection` cheap
 * messages at once: well under the per-connection limit, over the per-IP
 * one. At least one is closed with `RateLimited` (4429).
 */
export const perIpRate = async (hub: HubProcess, connections: number, perConnection: number): Promise<void> => {
  const cs = await Promise.all(Array.from({ length: connections }, async () => await RawClient.open(hub.url, '127.3.0.1')))
  const frame = encodeMessage({ type: MessageType.Held, room: 'not-joined', stateVector: EMPTY_SV })
  for (let i = 0; i < perConnection; i++) for (const c of cs) c.sendRaw(frame)
  try {
    await waitFor(() => cs.some(c => c.close?.code === ErrorCode.RateLimited),
      () => `a socket of the ${connections} from one IP to be closed with ${ErrorCode.RateLimited} (closes: ${cs.map(c => c.close?.code ?? 'open').join(',')})`)
    for (const c of cs) if (c.close !== undefined && !DOCUMENTED_CLOSES.has(c.close.code)) throw new Error(`per-IP flood: closed with ${c.close.code}`)
  } finally {
    for (const c of cs) c.terminate()
  }
}

// ---------------------------------------------------------------- presence

/**
 * Announces `ids` awareness client ids (in frames of at most 5,000) in
 * `room`, disconnects, and lets someone join the room: the hub must not
 * fall over re-encoding that presence.
 */
export const presenceFlood = async (hub: HubProcess, room: string, ids: number, ip = '127.4.0.1'): Promise<void> => {
  const p = await RawClient.open(hub.url, ip)
  await joinRoom(p, room)
  for (let start = 1; start <= ids; start += 5000) {
    const entries: AwarenessEntry[] = []
    for (let id = start; id < Math.min(ids + 1, start + 5000); id++) entries.push({ clientID: id, clock: 1, state: { i: id } })
    p.send({ type: MessageType.Awareness, room, update: encodeAwarenessEntries(entries) })
  }
  await p.roundTrip('the presence flood to be handled').catch(() => {})
  p.terminate()
  await joinerIsServed(hub, room, '127.4.0.2')
}

/**
 * One ~`bytes` awareness state `{"n":[9e20,…]}` that re-serialises to
 * about five times its size (over the 64 KiB state limit), then someone
 * joins the room.
 */
export const presenceBigState = async (hub: HubProcess, room: string, bytes: number, ip = '127.4.1.1'): Promise<void> => {
  const p = await RawClient.open(hub.url, ip)
  await joinRoom(p, room)
  const n = Math.floor((bytes - 8) / 5)
  const json = `{"n":[${new Array<string>(n).fill('9e20').join(',')}]}`
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint(e, 4242)
  encoding.writeVarUint(e, 1)
  encoding.writeVarString(e, json)
  p.send({ type: MessageType.Awareness, room, update: encoding.toUint8Array(e) })
  await p.roundTrip('the big presence state to be handled').catch(() => {})
  await joinerIsServed(hub, room, '127.4.1.2')
  p.terminate()
  await joinerIsServed(hub, room, '127.4.1.3')
}

const joinerIsServed = async (hub: HubProcess, room: string, ip: string): Promise<void> => {
  const j = await RawClient.open(hub.url, ip)
  try {
    await joinRoom(j, room)
  } finally {
    j.terminate()
  }
}

// ---------------------------------------------------------------- spoofing

const awareness = (clientID: number, clock: number, state: AwarenessEntry['state']): Uint8Array =>
  encodeAwarenessEntries([{ clientID, clock, state }])

/**
 * A read-only member announces another connection's awareness client id:
 * the others never see its state, the room keeps the owner's, and the
 * spoofer leaving does not remove the owner's presence.
 */
export const presenceSpoof = async (hub: HubProcess, room: string): Promise<void> => {
  const owner = await RawClient.open(hub.url, '127.10.0.1')
  const watcher = await RawClient.open(hub.url, '127.10.0.2')
  const spoofer = await RawClient.open(hub.url, '127.10.0.3')
  try {
    await joinRoom(owner, room)
    owner.send({ type: MessageType.Awareness, room, update: awareness(111, 1, { user: 'ann' }) })
    await owner.roundTrip('the owner\'s presence')
    await joinRoom(watcher, room, Access.Read)
    await waitFor(() => presenceSeen(watcher, room).some(e => e.clientID === 111), 'the watcher to see the owner\'s presence')
    await joinRoom(spoofer, room, Access.Read)
    spoofer.send({ type: MessageType.Awareness, room, update: awareness(111, 9, { user: 'mallory' }) })
    spoofer.send({ type: MessageType.Awareness, room, update: awareness(222, 1, { user: 'spoofer' }) })
    // its own id comes through after the spoof (same connection, in order), unless the hub closed it for the spoof
    await waitFor(() => spoofer.close !== undefined || presenceSeen(watcher, room).some(e => e.clientID === 222), 'the watcher to see the spoofer\'s own presence')
    const spooferClosed = spoofer.close !== undefined
    await watcher.roundTrip('the watcher\'s round trip after the spoof')
    const spoofed = presenceSeen(watcher, room).filter(e => e.clientID === 111 && e.state?.user !== 'ann')
    if (spoofed.length > 0) throw new Error(`a read-only member's state for another connection's client id was relayed: ${JSON.stringify(spoofed)}`)
    const late = await RawClient.open(hub.url, '127.10.0.4')
    try {
      await joinRoom(late, room, Access.Read)
      await waitFor(() => presenceSeen(late, room).some(e => e.clientID === 111), 'a late joiner to get the room\'s presence')
      const states = presenceSeen(late, room).filter(e => e.clientID === 111).map(e => e.state)
      if (states.some(s => s?.user !== 'ann')) throw new Error(`the room holds a spoofed presence for 111: ${JSON.stringify(states)}`)
    } finally { late.terminate() }
    spoofer.terminate()
    if (!spooferClosed) await waitFor(() => presenceSeen(watcher, room).some(e => e.clientID === 222 && e.state === null), 'the spoofer\'s presence to be removed')
    await watcher.roundTrip('the watcher\'s round trip after the spoofer left')
    if (presenceSeen(watcher, room).some(e => e.clientID === 111 && e.state === null)) throw new Error('the spoofer leaving removed the owner\'s presence (111)')
  } finally {
    for (const c of [owner, watcher, spoofer]) c.terminate()
  }
}

const signalsTo = (c: RawClient, room: string, payload: string): number =>
  c.got(MessageType.Signal, room).filter(m => new TextDecoder().decode(m.payload) === payload).length

/**
 * Signaling peer ids: a read-only member signaling as a peer id another
 * connection holds is refused (an error to it, nothing relayed); so it is
 * in the window after the holder left and before it reconnects (the id
 * stays reserved for the holder's token, and a writer's id never goes to a
 * read-only member); the holder, back with its token, takes its id again.
 */
export const signalSpoof = async (hub: HubProcess, room: string): Promise<void> => {
  const alice = await RawClient.open(hub.url, '127.11.0.1')
  const carol = await RawClient.open(hub.url, '127.11.0.2')
  const mallory = await RawClient.open(hub.url, '127.11.0.3')
  let alice2: RawClient | undefined
  const signal = (c: RawClient, from: string, to: string, payload: string): void =>
    c.send({ type: MessageType.Signal, room, from, to, payload: utf8.encode(payload) })
  const signalJoin = async (c: RawClient, token: string): Promise<void> => {
    c.send({ type: MessageType.SignalJoin, room, token })
    await waitFor(() => c.got(MessageType.Joined, room).length > 0, 'a signal-join')
  }
  const refused = async (payload: string): Promise<void> => {
    const errors = mallory.got(MessageType.Error, room).length
    signal(mallory, 'alice', '', payload)
    await waitFor(() => mallory.got(MessageType.Error, room).length > errors || mallory.close !== undefined || signalsTo(carol, room, payload) > 0,
      `the hub to refuse a signal as "alice" (${payload})`)
    await carol.roundTrip('carol\'s round trip')
    if (signalsTo(carol, room, payload) > 0) throw new Error(`a read-only connection posing as "alice" got its signal relayed (${payload})`)
  }
  try {
    await signalJoin(alice, 'alice-token')
    await signalJoin(carol, 'carol-token')
    signal(carol, 'carol', '', 'hi from carol')
    await waitFor(() => signalsTo(alice, room, 'hi from carol') > 0, 'alice to hear carol')
    signal(alice, 'alice', 'carol', 'hi from alice')
    await waitFor(() => signalsTo(carol, room, 'hi from alice') > 0, 'carol to hear alice')
    await joinRoom(mallory, room, Access.Read, 'mallory-token')
    await refused('evil while alice is there')
    // alice's connection drops; before she is back, mallory tries her id
    const mark = hub.logMark()
    alice.terminate()
    await waitFor(() => hub.log.some(l => l.seq >= mark && l.msg === 'connection closed' && JSON.stringify(l).includes('127.11.0.1')), 'the hub to see alice leave', 10_000).catch(() => {})
    if (mallory.close === undefined) await refused('evil while alice is away')
    alice2 = await RawClient.open(hub.url, '127.11.0.1')
    await signalJoin(alice2, 'alice-token')
    const a2 = alice2
    let n = 0
    await waitFor(() => {
      if (signalsTo(carol, room, 'alice is back') > 0) return true
      if (n++ % 20 === 0) signal(a2, 'alice', 'carol', 'alice is back') // her old socket may still hold the id a moment
      return false
    }, 'alice to signal as "alice" again after reconnecting')
    if (mallory.close === undefined) await refused('evil after alice is back')
  } finally {
    for (const c of [alice, carol, mallory, alice2]) c?.terminate()
  }
}

// ---------------------------------------------------------------- slow reader

/** Writes a ~`bytes` room (one chunked update) and waits for its ack. */
export const bigRoom = async (hub: HubProcess, room: string, bytes: number): Promise<void> => {
  const w = await RawClient.open(hub.url, '127.6.0.9')
  try {
    await joinRoom(w, room)
    const d = new Doc({ replicaId: `big-${room}` })
    d.map('m').set('blob', randomBytes(Math.ceil(bytes * 3 / 8)).toString('base64').slice(0, bytes))
    const frame = encodeMessage({ type: MessageType.Update, room, seq: 1, update: d.encodeStateAsUpdate() })
    for (const f of splitFrame(frame, 1 << 20, 1)) w.sendRaw(f)
    await waitFor(() => {
      if (w.close !== undefined) throw new Error(`writing the big room: closed (${w.close.code} ${w.close.reason})`)
      return w.got(MessageType.Ack, room).length > 0
    }, `the ${bytes}-byte update of ${room} to be acknowledged`, 60_000)
  } finally { w.terminate() }
}

/**
 * A client joins a ~`roomBytes` room and a room where another client
 * writes 384 KB updates 40 times a second, stops reading, and asks for the
 * big room's full state again and again (a burst, then `perSecond` a
 * second): the hub closes it as a `SlowConsumer` (4408) once
 * `maxQueuedBytes` are queued for it (the repeated requests alone may be
 * left unanswered while much is queued; the live updates are not).
 */
export const slowReader = async (hub: HubProcess, room: string, roomBytes: number, maxQueuedBytes: number, perSecond: number, ip = '127.6.0.1'): Promise<void> => {
  const feed = `${room}-feed-${Math.random().toString(36).slice(2, 8)}`
  const r = await RawClient.open(hub.url, ip)
  const w = await RawClient.open(hub.url, '127.6.1.1')
  const socket = (r.ws as unknown as { _socket: Socket })._socket
  const timers: Array<ReturnType<typeof setInterval>> = []
  try {
    await joinRoom(r, room)
    await joinRoom(r, feed, Access.Read)
    await joinRoom(w, feed)
    const mark = hub.logMark()
    socket.pause() // stops reading: the hub's queue for it grows
    const ask = (): void => r.send({ type: MessageType.SyncStep1, room, stateVector: EMPTY_SV })
    // enough to fill the loopback buffers (a few MB each way) and the queue limit twice
    const burst = Math.ceil((2 * maxQueuedBytes + (16 << 20)) / roomBytes)
    for (let i = 0; i < burst; i++) ask()
    timers.push(setInterval(ask, 1000 / perSecond))
    const doc = new Doc({ replicaId: `feeder-${feed}` })
    let seq = 0
    doc.on('update', (update: Uint8Array) => { w.send({ type: MessageType.Update, room: feed, seq: ++seq, update }) })
    const ceilingKb = 2 * RSS_BOUND_MB * 1024 // a hub without the limit grows: stop feeding it past twice the bound
    timers.push(setInterval(() => {
      if (hub.rssKb() < ceilingKb) doc.map('m').set('x', randomBytes(288 << 10).toString('base64'))
    }, 25))
    await waitFor(() => loggedClose(hub, ErrorCode.SlowConsumer, mark) || r.close?.code === ErrorCode.SlowConsumer,
      () => `the hub to close the slow reader with ${ErrorCode.SlowConsumer} (hub RSS now ${(hub.rssKb() / 1024).toFixed(0)} MB, max ${(hub.maxRssKb / 1024).toFixed(0)} MB)`)
    for (const t of timers) clearInterval(t)
    socket.resume()
    const close = await r.closed('the slow reader\'s socket to close')
    if (close.code !== ErrorCode.SlowConsumer && close.code !== 1006) throw new Error(`the slow reader was closed with ${close.code}, not ${ErrorCode.SlowConsumer}`)
  } finally {
    for (const t of timers) clearInterval(t)
    socket.resume()
    r.terminate()
    w.terminate()
  }
}

// ---------------------------------------------------------------- reassembly

const CHUNK_PAYLOAD = 1_000_000

const chunk = (id: number, index: number, count: number): Uint8Array =>
  encodeMessage({ type: MessageType.Chunk, id, index, count, bytes: new Uint8Array(CHUNK_PAYLOAD) })

/** Sends `bytes` of chunks of `messages` unfinished messages (each claims 1,000 chunks). */
const sendPartials = (c: RawClient, bytes: number, messages = 4): void => {
  const n = Math.ceil(bytes / CHUNK_PAYLOAD)
  for (let i = 0; i < n; i++) c.sendRaw(chunk(1 + (i % messages), Math.floor(i / messages), 1000))
}

const BUDGET_CLOSES: number[] = [ErrorCode.TooLarge, ErrorCode.Busy]

/**
 * Reassembly floods: one connection over its own budget is closed 4413
 * (or 4503); connections that are each under it but together over the
 * hub's budget get 4503 (or 4413); once they are gone the budget is free
 * again; a partial message left unfinished is dropped and its sender closed.
 */
export const reassemblyFlood = async (hub: HubProcess, l: AttackLimits, connections: number): Promise<void> => {
  const all: RawClient[] = []
  try {
    // one connection over its budget
    const one = await RawClient.open(hub.url, '127.7.0.1'); all.push(one)
    sendPartials(one, l.maxReassemblyBytesPerConnection + 2 * CHUNK_PAYLOAD)
    const c1 = await one.closed(`a connection holding more than ${l.maxReassemblyBytesPerConnection} bytes of partial messages to be closed`)
    if (!BUDGET_CLOSES.includes(c1.code)) throw new Error(`over its reassembly budget: closed with ${c1.code} (${c1.reason}), not 4413/4503`)

    // many connections, each under its budget, together over the hub's
    const each = l.maxReassemblyBytesPerConnection - 2 * CHUNK_PAYLOAD
    const needed = Math.max(connections, Math.ceil(l.maxReassemblyBytes / each) + 1)
    const many: RawClient[] = []
    for (let i = 0; i < needed; i++) {
      const c = await RawClient.open(hub.url, `127.7.1.${i + 1}`); all.push(c); many.push(c)
      sendPartials(c, each)
      await c.roundTrip('partials under the connection budget').catch(() => {})
    }
    await waitFor(() => many.some(c => c.close !== undefined), `one of ${needed} connections holding ${each} bytes each to be closed (hub budget ${l.maxReassemblyBytes})`)
    for (const c of many) if (c.close !== undefined && !BUDGET_CLOSES.includes(c.close.code)) throw new Error(`over the hub's reassembly budget: closed with ${c.close.code} (${c.close.reason}), not 4503/4413`)
    for (const c of many) c.terminate()

    // the budget is released: a new connection may hold as much again
    await waitFor(async () => {
      const c = await RawClient.open(hub.url, '127.7.2.1'); all.push(c)
      sendPartials(c, each)
      try { await c.roundTrip('partials after the flood'); return true } catch { return false } finally { c.terminate() }
    }, 'the hub\'s reassembly budget to be released after the flooders left')

    // an unfinished message times out
    const slow = await RawClient.open(hub.url, '127.7.3.1'); all.push(slow)
    slow.sendRaw(chunk(9, 0, 2))
    const c3 = await slow.closed(`a connection with an unfinished message to be closed after ${l.partialMessageTimeoutMs} ms`, l.partialMessageTimeoutMs + 30_000)
    if (!DOCUMENTED_CLOSES.has(c3.code)) throw new Error(`partial-message timeout: closed with ${c3.code}`)
  } finally {
    for (const c of all) c.terminate()
  }
}

// ---------------------------------------------------------------- rooms

/**
 * Room floods: one connection joining more rooms than its cap gets an error
 * (Denied or Busy) for the extra ones; two together past the hub's
 * open-room cap get `Busy`; once they left (and the rooms unloaded) a new
 * room opens again.
 */
export const roomFlood = async (hub: HubProcess, l: AttackLimits, tag: string): Promise<void> => {
  const f1 = await RawClient.open(hub.url, '127.8.0.1')
  const f2 = await RawClient.open(hub.url, '127.8.0.2')
  const after = await RawClient.open(hub.url, '127.8.0.3')
  const answered = (c: RawClient, room: string): boolean => c.got(MessageType.Joined, room).length > 0 || c.got(MessageType.Error, room).length > 0
  const joinMany = async (c: RawClient, prefix: string, n: number): Promise<{ joined: number, errors: number[] }> => {
    const rooms = Array.from({ length: n }, (_, i) => `${prefix}-${i}`)
    for (const room of rooms) c.send({ type: MessageType.Join, room, token: '', access: Access.Write, stateVector: EMPTY_SV })
    await waitFor(() => {
      if (c.close !== undefined) throw new Error(`room flood: closed (${c.close.code} ${c.close.reason})`)
      return rooms.every(r => answered(c, r))
    }, `answers to ${n} joins`, 60_000)
    return {
      joined: rooms.filter(r => c.got(MessageType.Joined, r).length > 0).length,
      errors: rooms.flatMap(r => c.got(MessageType.Error, r).map(e => e.code))
    }
  }
  try {
    const a = await joinMany(f1, `flood-${tag}-a`, l.maxRoomsPerConnection + 5)
    if (a.joined > l.maxRoomsPerConnection) throw new Error(`one connection joined ${a.joined} rooms, over the cap of ${l.maxRoomsPerConnection}`)
    if (!a.errors.every(code => code === ErrorCode.Denied || code === ErrorCode.Busy) || a.errors.length < 5) throw new Error(`joins past the per-connection cap: errors ${JSON.stringify(a.errors)}`)
    const b = await joinMany(f2, `flood-${tag}-b`, l.maxRoomsPerConnection)
    if (a.joined + b.joined > l.maxOpenRooms) throw new Error(`${a.joined + b.joined} rooms open, over the cap of ${l.maxOpenRooms}`)
    if (!b.errors.includes(ErrorCode.Busy)) throw new Error(`joins past the open-room cap got no Busy (${ErrorCode.Busy}): ${JSON.stringify(b.errors.slice(0, 10))}`)
    f1.terminate(); f2.terminate()
    // the flood's rooms unload (idle) and a new room opens
    const room = `after-flood-${tag}`
    let asked = 0
    let askedAt = 0
    await waitFor(() => {
      if (after.close !== undefined) throw new Error(`after the room flood: closed (${after.close.code} ${after.close.reason})`)
      if (after.got(MessageType.Joined, room).length > 0) return true
      // asks again (at most 4 times a second) each time the hub answered Busy
      if (after.got(MessageType.Error, room).length >= asked && Date.now() - askedAt >= 250) {
        asked++
        askedAt = Date.now()
        after.send({ type: MessageType.Join, room, token: '', access: Access.Write, stateVector: EMPTY_SV })
      }
      return false
    }, 'a new room to open once the flood left')
  } finally {
    for (const c of [f1, f2, after]) c.terminate()
  }
}

// ---------------------------------------------------------------- slowloris

/**
 * `sockets` raw TCP connections (over `ips` source addresses) each send an
 * upgrade request one header line a second, never finishing. While they
 * are open /healthz answers and the bystander is acknowledged (checked by
 * `during`); the hub closes each within its header timeout (+ slack).
 */
export const slowloris = async (hub: HubProcess, l: AttackLimits, sockets: number, ips: number, during: () => Promise<void>): Promise<void> => {
  const open: Socket[] = []
  let closed = 0
  const timers: Array<ReturnType<typeof setInterval>> = []
  try {
    for (let i = 0; i < sockets; i++) {
      const s = tcpConnect({ host: '127.0.0.1', port: hub.port, localAddress: `127.12.${Math.floor((i % ips) / 250)}.${(i % ips) % 250 + 1}` })
      s.on('error', () => {})
      s.on('close', () => { closed++ })
      s.once('connect', () => {
        s.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${hub.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`)
        let n = 0
        timers.push(setInterval(() => { if (!s.destroyed) s.write(`X-Slow-${n++}: ${'a'.repeat(8)}\r\n`) }, 1000))
      })
      open.push(s)
    }
    await waitFor(() => open.every(s => !s.connecting), `${sockets} slow sockets to connect`)
    await during()
    await waitFor(() => closed === sockets, () => `the hub to close all ${sockets} slow-header sockets (header timeout ${l.headerTimeoutMs} ms; ${closed} closed)`, l.headerTimeoutMs + 30_000)
  } finally {
    for (const t of timers) clearInterval(t)
    for (const s of open) s.destroy()
  }
}

/**
 * A WebSocket that completed its upgrade but never answers pings is closed
 * by the hub within a few ping intervals.
 */
export const silentWebSocket = async (hub: HubProcess, l: AttackLimits): Promise<void> => {
  const s = tcpConnect({ host: '127.0.0.1', port: hub.port, localAddress: '127.13.0.1' })
  let head = ''
  let closed = false
  s.on('error', () => {})
  s.on('close', () => { closed = true })
  s.on('data', (d: Buffer) => { if (head.length < 4096) head += d.toString('latin1') })
  try {
    await new Promise<void>((resolve, reject) => { s.once('connect', () => resolve()); s.once('error', reject) })
    s.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${hub.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`)
    await waitFor(() => head.includes('\r\n\r\n'), 'the upgrade answer')
    if (!head.startsWith('HTTP/1.1 101')) throw new Error(`the upgrade was refused: ${head.split('\r\n')[0]}`)
    // read everything (pings included), answer nothing
    await waitFor(() => closed, `the hub to close a WebSocket that never answers pings (ping interval ${l.pingIntervalMs} ms)`, 3 * l.pingIntervalMs + 30_000)
  } finally { s.destroy() }
}

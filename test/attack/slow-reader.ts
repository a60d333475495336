/** The slow reader: a client that stops reading while the hub has much to send it. */
import type { Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { Doc } from 'aegis-replication'
import { Access, encodeMessage, ErrorCode, MessageType, splitFrame } from 'aegis-replication/sync'
import { type HubProcess, loggedClose, RawClient, RSS_BOUND_MB, waitFor } from './harness.js'
import { EMPTY_SV, joinRoom } from './common.js'

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

/**
 * Finding 2 of issue 9 at the driver level: the `ws` socket itself is the
 * connection's I/O, so the sync server sees its `bufferedAmount`; a client
 * that stops reading and keeps asking for a ~4 MB room is closed with
 * `SlowConsumer` (4408) once the hub queued `maxQueuedBytes` for it, rather
 * than the hub buffering without bound. (The check itself is
 * `SyncServer`'s; this test needs it merged.)
 */
import { describe, expect, it } from 'vitest'
import { Doc } from 'aegis-replication'
import { encodeMessage, ErrorCode, MessageType } from 'aegis-replication/sync'
import { openSocket, startHub, syncedRoom } from './hub-harness.js'
import { until } from '../../support/net.js'

describe('slow consumer', () => {
  it('closes a client that stops reading and keeps asking for the full state with 4408', async () => {
    const MiB = 1 << 20
    const hub = await startHub({ limits: { maxQueuedBytes: 8 * MiB } })
    const writer = await syncedRoom(await openSocket(hub.url), 'big', new Doc({ replicaId: 'w' }))
    const chunk = 'x'.repeat(100_000)
    for (let i = 0; i < 40; i++) writer.doc.map('m').set(`k${i}`, `${i}${chunk}`)
    await until(() => writer.pending === 0, 'the ~4 MB room to be stored', 30_000)

    const reader = await openSocket(hub.url)
    let received = 0
    reader.on('message', (data: Buffer) => { received += data.byteLength })
    const code = new Promise<number>(resolve => reader.once('close', (c) => resolve(c)))
    const emptySv = new Doc().encodeStateVector()
    reader.send(encodeMessage({ type: MessageType.Join, room: 'big', token: '', access: 'read', stateVector: emptySv }))
    await until(() => received > 4_000_000, 'the first full state', 30_000)

    // stop reading (the TCP window fills, the hub's queue grows) and keep asking
    const socket = (reader as unknown as { _socket: { pause: () => void, resume: () => void } })._socket
    socket.pause()
    const before = hub.metrics().framesIn
    const requests = 12 // 12 × ~4 MB: far past the 8 MiB limit
    for (let i = 0; i < requests; i++) reader.send(encodeMessage({ type: MessageType.SyncStep1, room: 'big', stateVector: emptySv }))
    // until the hub has read them all (a hub that closed us early may stop counting: then the deadline ends the wait)
    await until(() => hub.metrics().framesIn >= before + requests, 'the hub to read the requests', 10_000).catch(() => {})
    socket.resume() // read what was queued; the close frame comes after it
    let timer: ReturnType<typeof setTimeout> | undefined
    const result = await Promise.race([code, new Promise<string>(resolve => { timer = setTimeout(() => resolve('still open after 30 s'), 30_000) })])
    clearTimeout(timer)
    expect(result).toBe(ErrorCode.SlowConsumer)
  })
})

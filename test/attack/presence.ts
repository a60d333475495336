/** Attacks on presence (awareness) and signaling: floods, oversized states, spoofing. */
import * as encoding from 'lib0/encoding'
import { Access, encodeAwarenessEntries, MessageType, type AwarenessEntry } from 'aegis-replication/sync'
import { type HubProcess, RawClient, waitFor } from './harness.js'
import { joinRoom, presenceSeen, utf8 } from './common.js'

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

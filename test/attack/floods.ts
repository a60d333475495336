/** Floods: unfinished chunked messages (reassembly budgets, timeout) and room joins (caps). */
import { Access, encodeMessage, ErrorCode, MessageType } from 'aegis-replication/sync'
import { type HubProcess, RawClient, waitFor } from './harness.js'
import { type AttackLimits, DOCUMENTED_CLOSES, EMPTY_SV } from './common.js'

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
    // together they asked for more rooms than the hub may hold open: someone got Busy (the first
    // flooder already, when rooms of earlier attacks were still open; they unload while it waits)
    if (![...a.errors, ...b.errors].includes(ErrorCode.Busy)) throw new Error(`joins past the open-room cap got no Busy (${ErrorCode.Busy}): ${JSON.stringify([...a.errors, ...b.errors].slice(0, 10))}`)
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

/** Attacks with frames: random and mutated frames, a wrong protocol version, a per-IP message flood. */
import { Doc } from 'aegis-replication'
import { Access, encodeAwarenessEntries, encodeMessage, ErrorCode, MessageType, type SyncMessage } from 'aegis-replication/sync'
import { Prng } from 'aegis-replication/testing'
import { type HubProcess, RawClient, waitFor } from './harness.js'
import { DOCUMENTED_CLOSES, EMPTY_SV } from './common.js'

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

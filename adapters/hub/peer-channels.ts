/**
 * The channels a member socket carries, by the first byte of a message:
 * Raft messages (handed to the {@link RaftNode} through {@link RaftChannel}),
 * requests a follower forwards to the leader (KV reads and writes with the
 * access `auth` gave the client, or membership requests), and the answers.
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { DecodeError } from 'aegis-replication'
import type { PeerId, Transport, TransportEvents } from 'aegis-replication/transport'
import { decodeKvResult, encodeKvResult } from 'aegis-replication/raft'
import { Access, KvStatus, type KvAnswer } from 'aegis-replication/sync'
import { isClusterKey } from './cluster-identity.js'
import type { HubPeerTransport } from './peer-transport.js'

/** First byte of a member-socket message. */
export const Channel = { Raft: 0, Forward: 1, Answer: 2 } as const

/** What a forwarded request is. */
export const Kind = { Read: 0, Write: 1, Admin: 2 } as const

/**
 * A forwarded request. `ackedSeq` (the client's acknowledged point) is a
 * trailing optional field: a leader that predates it stops reading after
 * `command` and ignores it; a forward from such a follower has none.
 */
export interface Forward { id: number, kind: number, access: Access, session: string, seq: number, command: Uint8Array, ackedSeq?: number }

/** The payload of a {@link Channel.Forward} message (the channel byte is added by the transport). */
export const encodeForward = (f: Forward): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, f.id)
  encoding.writeUint8(e, f.kind)
  encoding.writeUint8(e, f.access === Access.Write ? 1 : 0)
  encoding.writeVarString(e, f.session)
  encoding.writeVarUint(e, f.seq)
  encoding.writeVarUint8Array(e, f.command)
  if (f.ackedSeq !== undefined) encoding.writeVarUint(e, f.ackedSeq)
  return encoding.toUint8Array(e)
}

/** Reads a whole {@link Channel.Forward} message; throws on bad bytes. */
export const decodeForward = (frame: Uint8Array): Forward => {
  const d = decoding.createDecoder(frame.subarray(1))
  const id = decoding.readVarUint(d)
  const kind = decoding.readUint8(d)
  if (kind !== Kind.Read && kind !== Kind.Write && kind !== Kind.Admin) throw new DecodeError(`unknown forwarded request kind ${kind}`)
  const access = decoding.readUint8(d) === 1 ? Access.Write : Access.Read
  const session = decoding.readVarString(d)
  const seq = decoding.readVarUint(d)
  const command = decoding.readVarUint8Array(d).slice()
  return { id, kind, access, session, seq, command, ...(decoding.hasContent(d) ? { ackedSeq: decoding.readVarUint(d) } : {}) }
}

/** The payload of a {@link Channel.Answer} message. */
export const encodeAnswer = (id: number, a: KvAnswer): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, id)
  encoding.writeUint8(e, a.status)
  encoding.writeVarUint8Array(e, a.result ?? new Uint8Array(0))
  encoding.writeVarString(e, a.reason ?? '')
  return encoding.toUint8Array(e)
}

/** Reads a whole {@link Channel.Answer} message; throws on bad bytes. */
export const decodeAnswer = (frame: Uint8Array): { id: number, answer: KvAnswer } => {
  const d = decoding.createDecoder(frame.subarray(1))
  const id = decoding.readVarUint(d)
  const status = decoding.readUint8(d)
  if (status > KvStatus.SessionExpired) throw new DecodeError(`unknown status ${status}`)
  const result = decoding.readVarUint8Array(d).slice()
  const reason = decoding.readVarString(d)
  return { id, answer: { status: status as KvStatus, result, reason } }
}

/** Drops the hubs' own keys from a range answer and cuts it to the client's limit. */
export const hideClusterKeys = (a: KvAnswer, limit: number): KvAnswer => {
  if (a.status !== KvStatus.Ok || a.result === undefined) return a
  const r = decodeKvResult(a.result)
  if (r.type !== 'range') return a
  const entries = r.entries.filter(e => !isClusterKey(e.key))
  return { ...a, result: encodeKvResult({ type: 'range', entries: limit > 0 ? entries.slice(0, limit) : entries }) }
}

/** A view of the peer transport that carries one channel (the Raft messages). */
export class RaftChannel implements Transport {
  private readonly listeners = new Map<unknown, unknown>()
  constructor (private readonly inner: HubPeerTransport) {}
  get id (): PeerId { return this.inner.id }
  peers (): PeerId[] { return this.inner.peers() }
  send (to: PeerId, frame: Uint8Array): void { this.inner.sendTagged(to, Channel.Raft, frame) }
  broadcast (frame: Uint8Array): void { for (const p of this.inner.peers()) this.send(p, frame) }
  async close (): Promise<void> { await this.inner.close() }
  on<E extends keyof TransportEvents> (event: E, listener: TransportEvents[E]): void {
    if (event !== 'message') { this.inner.on(event, listener); return }
    const wrapped = (from: PeerId, frame: Uint8Array): void => {
      if (frame[0] === Channel.Raft) (listener as TransportEvents['message'])(from, frame.subarray(1))
    }
    this.listeners.set(listener, wrapped)
    this.inner.on('message', wrapped)
  }

  off<E extends keyof TransportEvents> (event: E, listener: TransportEvents[E]): void {
    if (event !== 'message') { this.inner.off(event, listener); return }
    const wrapped = this.listeners.get(listener) as TransportEvents['message'] | undefined
    if (wrapped !== undefined) this.inner.off('message', wrapped)
    this.listeners.delete(listener)
  }
}


/**
 * What the attacks share: the limits the hub runs with (and their CLI
 * flags), the close codes an offender may get, and a raw join.
 */
import { Doc } from 'aegis-replication'
import { Access, decodeAwarenessUpdate, ErrorCode, MessageType, type AwarenessEntry } from 'aegis-replication/sync'
import { type RawClient, waitFor } from './harness.js'

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

export const EMPTY_SV = new Doc().encodeStateVector()
export const utf8 = new TextEncoder()

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
export const presenceSeen = (c: RawClient, room: string): AwarenessEntry[] =>
  c.got(MessageType.Awareness, room).flatMap(m => { try { return decodeAwarenessUpdate(m.update) } catch { return [] } })

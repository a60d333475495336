/**
 * The handshake that opens every socket between hubs (and from the
 * `aegis-hub members` command): a challenge–response on the cluster secret,
 * so the secret itself never crosses the wire.
 *
 * ```
 * dialer   → acceptor  hello      version, role, nonce A
 * acceptor → dialer    challenge  nonce B
 * dialer   → acceptor  proof      dialer's ids (node, member, cluster),
 *                                 HMAC(secret, "dialer" ‖ hello ‖ challenge ‖ dialer's ids)
 * acceptor → dialer    welcome    acceptor's ids,
 *                                 HMAC(secret, "acceptor" ‖ hello ‖ challenge ‖ dialer's ids ‖ acceptor's ids)
 * ```
 *
 * Both MACs cover both nonces and both identities, under different labels
 * (no reflection, no replay); each side checks the other's MAC in constant
 * time before it trusts anything the other said. A socket that does not
 * know the secret learns nothing about the hub (no ids, no cluster id): the
 * acceptor reveals its identity only to a dialer that proved the secret.
 *
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { DecodeError, InvalidArgumentError } from 'aegis-replication'

/** Version of the peer handshake and framing. */
export const PEER_PROTOCOL_VERSION = 1

/** First byte of every frame on a peer socket. */
export const PeerFrame = {
  Hello: 0x10,
  Challenge: 0x11,
  Proof: 0x12,
  Welcome: 0x13,
  /** The last (or only) fragment of a message. */
  Data: 0x20,
  /** A fragment with more to follow. */
  DataMore: 0x21
} as const

/** What the dialer opens the socket for. */
export const PeerRole = {
  /** A member of the group: Raft messages and forwarded requests. */
  Member: 0,
  /** The `members` command or a joining hub: membership requests only. */
  Admin: 1
} as const
/** One of {@link PeerRole}'s values. */
export type PeerRole = typeof PeerRole[keyof typeof PeerRole]

/** Who a side of the handshake says it is. */
export interface PeerIdentity {
  /** The Raft node id (`--id`). */
  nodeId: string
  /** Random per data directory, created on the first start. */
  memberId: string
  /** The cluster's id, or '' while this hub does not know it yet. */
  clusterId: string
}

/** The shortest cluster secret a hub accepts (characters). */
export const MIN_SECRET_LENGTH = 16

/** How to make a secret, for error messages. */
export const MAKE_SECRET_HINT = 'make one with `openssl rand -hex 32 > cluster-secret`, give every hub of the cluster the same file ' +
  '(--cluster-secret-file cluster-secret, or the environment variable AEGIS_HUB_CLUSTER_SECRET; createHub({ clusterSecret }))'

/** Checks a cluster secret; throws {@link InvalidArgumentError} that says how to make one. */
export const checkSecret = (secret: string | undefined): string => {
  if (secret === undefined || secret === '') throw new InvalidArgumentError(`hubs of a Raft group need a cluster secret to authenticate each other: ${MAKE_SECRET_HINT}`)
  if (secret.length < MIN_SECRET_LENGTH) throw new InvalidArgumentError(`the cluster secret is too short (${secret.length} characters, at least ${MIN_SECRET_LENGTH}): ${MAKE_SECRET_HINT}`)
  return secret
}

/** A fresh random nonce. */
export const newNonce = (): Uint8Array => new Uint8Array(randomBytes(32))

/** The hello frame (the dialer's first): version, role and nonce A, nothing about who dials. */
export const encodeHello = (role: PeerRole, nonce: Uint8Array): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeUint8(e, PeerFrame.Hello)
  encoding.writeVarUint(e, PEER_PROTOCOL_VERSION)
  encoding.writeUint8(e, role)
  encoding.writeVarUint8Array(e, nonce)
  return encoding.toUint8Array(e)
}

/** Reads a hello frame; throws DecodeError. */
export const decodeHello = (frame: Uint8Array): { role: PeerRole, nonce: Uint8Array } => read('hello', frame, PeerFrame.Hello, (d) => {
  const version = decoding.readVarUint(d)
  if (version !== PEER_PROTOCOL_VERSION) throw new DecodeError(`peer protocol version ${version}, this hub speaks ${PEER_PROTOCOL_VERSION}`)
  const role = decoding.readUint8(d)
  if (role !== PeerRole.Member && role !== PeerRole.Admin) throw new DecodeError(`unknown peer role ${role}`)
  return { role, nonce: readNonce(d) }
})

/** The challenge frame (the acceptor's first): nonce B only. */
export const encodeChallenge = (nonce: Uint8Array): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeUint8(e, PeerFrame.Challenge)
  encoding.writeVarUint8Array(e, nonce)
  return encoding.toUint8Array(e)
}

/** Reads a challenge frame. */
export const decodeChallenge = (frame: Uint8Array): Uint8Array => read('challenge', frame, PeerFrame.Challenge, readNonce)

/** An identity's bytes, as the MACs cover them. */
export const encodeIdentity = (id: PeerIdentity): Uint8Array => {
  const e = encoding.createEncoder()
  writeIdentity(e, id)
  return encoding.toUint8Array(e)
}

/** The proof (dialer) or welcome (acceptor) frame: the sender's identity and its MAC. */
export const encodeProven = (type: typeof PeerFrame.Proof | typeof PeerFrame.Welcome, identity: Uint8Array, mac: Uint8Array): Uint8Array => {
  const e = encoding.createEncoder()
  encoding.writeUint8(e, type)
  encoding.writeUint8Array(e, identity)
  encoding.writeVarUint8Array(e, mac)
  return encoding.toUint8Array(e)
}

/** Reads a proof or welcome frame; `identityBytes` is what the MAC covers. */
export const decodeProven = (type: typeof PeerFrame.Proof | typeof PeerFrame.Welcome, frame: Uint8Array): { peer: PeerIdentity, identityBytes: Uint8Array, mac: Uint8Array } =>
  read(type === PeerFrame.Proof ? 'proof' : 'welcome', frame, type, (d) => {
    const peer = readIdentity(d)
    const identityBytes = frame.slice(1, d.pos + 1) // the decoder starts after the type byte
    return { peer, identityBytes, mac: decoding.readVarUint8Array(d).slice() }
  })

/**
 * The MAC one side sends, over the transcript so far and labelled by the
 * sender's side: the dialer's over hello, challenge and its identity; the
 * acceptor's over those and its own identity.
 */
export const transcriptMac = (secret: string, side: 'dialer' | 'acceptor', ...parts: Uint8Array[]): Uint8Array => {
  const h = createHmac('sha256', secret)
  h.update(`aegis-hub-peer/${PEER_PROTOCOL_VERSION}/${side}\n`)
  for (const p of parts) {
    h.update(String(p.length) + ':') // unambiguous concatenation
    h.update(p)
  }
  return new Uint8Array(h.digest())
}

/** Constant-time comparison of a received MAC with the expected one. */
export const macMatches = (got: Uint8Array, want: Uint8Array): boolean =>
  got.length === want.length && timingSafeEqual(got, want)

/** Why two cluster ids do not belong together, or undefined when they may (one side may not know it yet). */
export const clusterMismatch = (mine: string, theirs: string): string | undefined =>
  mine !== '' && theirs !== '' && mine !== theirs ? `it belongs to another cluster (${theirs}, this one is ${mine})` : undefined

const writeIdentity = (e: encoding.Encoder, id: PeerIdentity): void => {
  encoding.writeVarString(e, id.nodeId)
  encoding.writeVarString(e, id.memberId)
  encoding.writeVarString(e, id.clusterId)
}

const readIdentity = (d: decoding.Decoder): PeerIdentity => {
  const nodeId = decoding.readVarString(d)
  const memberId = decoding.readVarString(d)
  const clusterId = decoding.readVarString(d)
  if (nodeId === '' || nodeId.length > 256 || memberId.length > 256 || clusterId.length > 256) throw new DecodeError('bad peer identity')
  return { nodeId, memberId, clusterId }
}

const readNonce = (d: decoding.Decoder): Uint8Array => {
  const n = decoding.readVarUint8Array(d).slice()
  if (n.length !== 32) throw new DecodeError('a peer nonce is 32 bytes')
  return n
}

const read = <T>(what: string, frame: Uint8Array, type: number, f: (d: decoding.Decoder) => T): T => {
  if (frame[0] !== type) throw new DecodeError(`expected a ${what} frame`)
  try {
    return f(decoding.createDecoder(frame.subarray(1)))
  } catch (err) {
    if (err instanceof DecodeError) throw err
    throw new DecodeError(`malformed ${what} frame: ${err instanceof Error ? err.message : String(err)}`)
  }
}

/** A secret no one else knows (a group of one without a configured secret refuses every peer). */
export const randomSecret = (): string => randomBytes(32).toString('hex')

/**
 * Who a hub is, and which cluster it belongs to.
 *
 * - The **member id** is random per data directory, created on the first
 *   start and kept in `<dataDir>/raft/identity.json`: a hub whose disk was
 *   wiped comes back with a new one.
 * - The **cluster id** is random, created by the group's first leader and
 *   committed in the replicated KV (so every member agrees on it); each hub
 *   also keeps a copy in `identity.json` once it has seen it.
 * - The **directory** of members, in the replicated KV under
 *   {@link CLUSTER_PREFIX}: for each node id its URL and the member id bound
 *   to it (the first one that connected after it was added). A member that
 *   shows another member id is refused until it is removed and added again.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decodeKvResult, encodeKvCommand, type KvStateMachine } from 'aegis-replication/raft'

/** Keys of the replicated KV the hubs keep for themselves; clients may not touch them. */
export const CLUSTER_PREFIX = '\u0000aegis/cluster/'
/** The key of the cluster id. */
export const CLUSTER_ID_KEY = `${CLUSTER_PREFIX}id`
/** The prefix of the member directory's keys (`…member/<node id>`). */
export const MEMBER_PREFIX = `${CLUSTER_PREFIX}member/`

/** One member in the directory. */
export interface MemberRecord {
  /** `ws://host:port` the other hubs dial. */
  url: string
  /** The member id bound to the node id, once it connected. */
  memberId?: string
}

/** This hub's persistent identity. */
export interface LocalIdentity {
  memberId: string
  clusterId: string
}

/** A random id: 16 bytes as hex. */
export const randomId = (): string => randomBytes(16).toString('hex')

const identityFile = (dataDir: string): string => join(dataDir, 'raft', 'identity.json')

/** Reads `<dataDir>/raft/identity.json`, creating it (a fresh member id) on the first start. */
export const loadIdentity = async (dataDir: string): Promise<LocalIdentity> => {
  try {
    const parsed = JSON.parse(await readFile(identityFile(dataDir), 'utf8')) as Partial<LocalIdentity>
    if (typeof parsed.memberId === 'string' && parsed.memberId !== '') {
      return { memberId: parsed.memberId, clusterId: typeof parsed.clusterId === 'string' ? parsed.clusterId : '' }
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${identityFile(dataDir)}: ${String(err)}`, { cause: err })
  }
  const fresh = { memberId: randomId(), clusterId: '' }
  await saveIdentity(dataDir, fresh)
  return fresh
}

/** Writes the identity file atomically (temp file, rename). */
export const saveIdentity = async (dataDir: string, identity: LocalIdentity): Promise<void> => {
  const file = identityFile(dataDir)
  await mkdir(join(dataDir, 'raft'), { recursive: true })
  await writeFile(`${file}.tmp`, JSON.stringify(identity) + '\n')
  await rename(`${file}.tmp`, file)
}

/** Whether a client's KV command touches the hubs' own keys. */
export const isClusterKey = (key: string): boolean => key.startsWith(CLUSTER_PREFIX)

/** The cluster id and the member directory as this replica has applied them (a local, possibly stale read). */
export const readDirectory = (sm: KvStateMachine): { clusterId: string, members: Map<string, MemberRecord> } => {
  const r = decodeKvResult(sm.query(encodeKvCommand({ type: 'range', start: CLUSTER_PREFIX, end: `${CLUSTER_PREFIX}\uffff`, limit: 0 })))
  const members = new Map<string, MemberRecord>()
  let clusterId = ''
  if (r.type !== 'range') return { clusterId, members }
  const text = new TextDecoder()
  for (const e of r.entries) {
    if (e.key === CLUSTER_ID_KEY) { clusterId = text.decode(e.value); continue }
    if (!e.key.startsWith(MEMBER_PREFIX)) continue
    try {
      const rec = JSON.parse(text.decode(e.value)) as MemberRecord
      if (typeof rec.url === 'string') members.set(e.key.slice(MEMBER_PREFIX.length), rec)
    } catch { /* not ours to judge: skip */ }
  }
  return { clusterId, members }
}

/** The command that records `id` in the directory. */
export const putMember = (id: string, rec: MemberRecord): Uint8Array =>
  encodeKvCommand({ type: 'put', key: MEMBER_PREFIX + id, value: new TextEncoder().encode(JSON.stringify(rec)) })

/** The command that drops `id` from the directory. */
export const deleteMember = (id: string): Uint8Array => encodeKvCommand({ type: 'delete', key: MEMBER_PREFIX + id })

/** The command that sets the cluster id unless one is set. */
export const claimClusterId = (id: string): Uint8Array =>
  encodeKvCommand({ type: 'cas', key: CLUSTER_ID_KEY, expected: null, next: new TextEncoder().encode(id) })

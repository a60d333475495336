/**
 * `aegis-hub`: runs a hub from the command line until SIGINT/SIGTERM, then
 * shuts down gracefully (every acknowledged update is already on disk; the
 * rest is flushed).
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { InvalidArgumentError } from 'aegis-replication'
import { DEFAULT_CONFIG, parseConfig, type ReplicationConfig } from 'aegis-replication/config'
import { createHub, type Hub } from './create-hub.js'
import { CLUSTER_SECRET_ENV, MEMBERS_USAGE, readClusterSecret, runMembersCli } from './members-cli.js'

const USAGE = `aegis-hub: the aegis-replication hub (WebSocket relay + durable rooms)

usage: aegis-hub [--port 4444] [--host 127.0.0.1] [--data ./.aegis-data] [--idle-ms 30000] [--config replication.toml]
                 [--id n1 [--peers n2=ws://host:port,n3=ws://host:port | --join ws://host:port] [--cluster-secret-file F]]
       aegis-hub members list|add ID=ws://host:port|remove ID --hub ws://host:port [--cluster-secret-file F]

  --port N       TCP port (0 picks a free one; the chosen port is logged)   default 4444
  --host ADDR    interface to listen on                                    default 127.0.0.1
  --data DIR     where rooms are stored, one write-ahead log per room      default ./.aegis-data
  --idle-ms N    unload a room N ms after its last client left             default 30000
  --config FILE  a TOML config file: the hub takes its [hub] section (port,
                 host, data_dir, idle_ms; a relative data_dir is relative to
                 the current directory, as with --data) and its [raft] timing,
                 and checks the whole file. Flags given here override it
  --no-fsync     do not fsync before acknowledging (throwaway hubs only)
  --id ID        run a Raft member with this id and serve the KV to clients
                 (provider.kv); its log is in <data>/raft. Alone: a group of one
  --peers LIST   the other hubs of the group, id=url pairs separated by commas;
                 every hub of a group gets the same set (each without itself)
  --join URL     join the cluster through this member instead of bootstrapping one
                 with --peers (needs a fixed --port); --peers only bootstraps a new
                 cluster on the first start, afterwards the log's configuration wins
  --cluster-secret-file F
                 the secret the hubs of a cluster authenticate each other with
                 (also ${CLUSTER_SECRET_ENV}); required with --peers or --join.
                 Make one with: openssl rand -hex 32 > cluster-secret
  --cluster-token SECRET
                 deprecated (the secret shows in the process list): use --cluster-secret-file
  --snapshot-every N
                 snapshot the Raft state and compact its log every N entries
                                                                           default 10000
  -h, --help     this text

GET /healthz answers {"status":"ok"}; GET /metrics the counters.
`

/** `n2=ws://a:1,n3=ws://b:2` → `{ n2: 'ws://a:1', n3: 'ws://b:2' }`. */
export const parsePeers = (list: string): Record<string, string> => {
  const peers: Record<string, string> = {}
  for (const item of list.split(',').map(s => s.trim()).filter(s => s !== '')) {
    const eq = item.indexOf('=')
    const id = item.slice(0, eq).trim()
    const url = item.slice(eq + 1).trim()
    if (eq < 1 || !/^wss?:\/\/[^\s]+$/.test(url)) throw new Error(`--peers takes id=ws://host:port pairs separated by commas; ${JSON.stringify(item)} is not one`)
    if (id in peers) throw new Error(`--peers names ${id} twice`)
    peers[id] = url
  }
  return peers
}

/** A config file; any problem with the file is an error that names it. */
const readConfig = async (file: string): Promise<ReplicationConfig> => {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new Error(`cannot read the config file ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
  try {
    return parseConfig(text)
  } catch (err) {
    if (err instanceof Error && err.name === InvalidArgumentError.name) throw new InvalidArgumentError(`config file ${file}: ${err.message}`)
    throw err
  }
}

/** Parses `argv` (without node and the script), starts the hub; resolves with it, or undefined after --help. */
export const runHubCli = async (argv: string[], out: (line: string) => void = (l) => process.stdout.write(l)): Promise<Hub | undefined> => {
  if (argv[0] === 'members') { await runMembersCli(argv.slice(1), out); return undefined }
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      data: { type: 'string' },
      'idle-ms': { type: 'string' },
      'no-fsync': { type: 'boolean' },
      id: { type: 'string' },
      peers: { type: 'string' },
      'cluster-token': { type: 'string' },
      'cluster-secret-file': { type: 'string' },
      join: { type: 'string' },
      'snapshot-every': { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    },
    strict: true
  })
  if (values.help === true) { out(USAGE + '\n' + MEMBERS_USAGE); return undefined }
  const int = (name: string, v: string | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number => {
    if (v === undefined) return fallback
    const n = Number(v)
    const range = max === Number.MAX_SAFE_INTEGER ? '≥ 0' : `from 0 to ${max}`
    if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`--${name} must be a whole number ${range}, got ${JSON.stringify(v)}`)
    return n
  }
  // flags override the config file, which overrides the defaults
  const config = values.config === undefined ? DEFAULT_CONFIG : await readConfig(values.config)
  const file = config.hub
  if (values.peers !== undefined && values.id === undefined) throw new Error('--peers needs --id: the id of this hub in the group')
  if (values.join !== undefined && values.id === undefined) throw new Error('--join needs --id: the id of this hub in the group')
  const clusterSecret = await readClusterSecret(values['cluster-secret-file'])
  const snapshotEvery = values['snapshot-every'] === undefined ? undefined : int('snapshot-every', values['snapshot-every'], 10_000)
  const hub = await createHub({
    id: values.id,
    peers: values.peers === undefined ? undefined : parsePeers(values.peers),
    clusterSecret,
    clusterToken: values['cluster-token'],
    join: values.join,
    raft: {
      electionTimeout: { min: config.raft.electionTimeoutMin, max: config.raft.electionTimeoutMax },
      heartbeatInterval: config.raft.heartbeatInterval,
      ...(snapshotEvery === undefined ? {} : { snapshotThreshold: Math.max(1, snapshotEvery) })
    },
    port: int('port', values.port, file.port, 65_535),
    host: values.host ?? file.host,
    dataDir: values.data ?? file.dataDir,
    idleMs: int('idle-ms', values['idle-ms'], file.idleMs),
    fsync: values['no-fsync'] !== true
  })
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    out(`aegis-hub: ${signal}, shutting down\n`)
    hub.close().then(() => process.exit(0), (err) => { process.stderr.write(`aegis-hub: shutdown failed: ${String(err)}\n`); process.exit(1) })
  }
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))
  return hub
}

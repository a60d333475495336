/**
 * Every `aegis-hub` flag once: its type, its `AEGIS_HUB_*` environment
 * variable, its `[hub]` config key and its help. The parser
 * (`env-args.ts`), the help text and the config merge all read this table,
 * so a new flag is one entry here plus the line in `cli.ts` that uses it.
 *
 * @module
 */
import type { FlagSpec } from './cli-flag-spec.js'
import { HUB_LIMIT_FLAGS } from './cli-limit-flags.js'

export { envName, envOf } from './cli-flag-spec.js'
export type { FlagKind, FlagSpec } from './cli-flag-spec.js'

export const FLAGS: readonly FlagSpec[] = [
  { name: 'config', kind: 'string', group: 'Listen and store', arg: 'FILE', help: 'a TOML config file: the hub takes its [hub] section and its [raft] timing, and checks the whole file (a relative data_dir or *_file is relative to the current directory). Flags and environment variables override it' },
  { name: 'port', kind: 'integer', group: 'Listen and store', arg: 'N', max: 65_535, config: 'port', shown: '4444', help: 'TCP port (0 picks a free one; the chosen port is logged)' },
  { name: 'host', kind: 'string', group: 'Listen and store', arg: 'ADDR', config: 'host', shown: '127.0.0.1', help: 'interface to listen on; a non-loopback one needs auth or --allow-anonymous' },
  { name: 'data', kind: 'string', group: 'Listen and store', arg: 'DIR', config: 'dataDir', shown: './.aegis-data', help: 'where rooms are stored, one write-ahead log per room' },
  { name: 'idle-ms', kind: 'integer', group: 'Listen and store', arg: 'N', config: 'idleMs', shown: '30000', help: 'unload a room N ms after its last client left' },
  { name: 'no-fsync', kind: 'boolean', group: 'Listen and store', help: 'do not fsync before acknowledging (throwaway hubs only)' },
  { name: 'auth-jwt-secret-file', kind: 'string', group: 'Access', arg: 'FILE', config: 'authJwtSecretFile', secretEnv: 'AEGIS_HUB_AUTH_JWT_SECRET', help: 'clients present JWTs signed with the HS256 secret in FILE (at least 32 bytes; AEGIS_HUB_AUTH_JWT_SECRET may hold the secret itself)' },
  { name: 'auth-jwks-url', kind: 'string', group: 'Access', arg: 'URL', config: 'authJwksUrl', help: 'clients present JWTs signed (RS256, ES256) by a key of the JWKS at URL; keys rotate as the JWKS changes' },
  { name: 'auth-jwt-issuer', kind: 'string', group: 'Access', arg: 'ISS', config: 'authJwtIssuer', help: 'the iss claim every client JWT must carry' },
  { name: 'auth-jwt-audience', kind: 'string', group: 'Access', arg: 'AUD', config: 'authJwtAudience', help: 'the aud claim every client JWT must carry' },
  { name: 'allowed-origins', kind: 'list', group: 'Access', arg: 'LIST', config: 'allowedOrigins', shown: 'the Host the client used; any loopback origin on a loopback hub', help: 'origins whose pages may open the socket (https://app.example,…), or * for any' },
  { name: 'allow-anonymous', kind: 'boolean', group: 'Access', config: 'allowAnonymous', help: 'run on a non-loopback interface without auth (everyone may read and write every room)' },
  { name: 'trust-proxy', kind: 'boolean', group: 'Access', help: 'the hub runs behind a reverse proxy: per-IP limits and the loopback checks use the last X-Forwarded-For hop instead of the socket address' },
  { name: 'metrics-token-file', kind: 'string', group: 'Access', arg: 'FILE', config: 'metricsTokenFile', secretEnv: 'AEGIS_HUB_METRICS_TOKEN', help: '/metrics and the details of /healthz need "Authorization: Bearer <token in FILE>" (AEGIS_HUB_METRICS_TOKEN may hold the token itself); without it only loopback clients get them' },
  { name: 'id', kind: 'string', group: 'Raft', arg: 'ID', help: 'run a Raft member with this id and serve the KV to clients (provider.kv); its log is in <data>/raft. Alone: a group of one' },
  { name: 'peers', kind: 'string', group: 'Raft', arg: 'LIST', help: 'the other hubs of the group, id=ws://host:port pairs separated by commas; every hub of a group gets the same set (each without itself)' },
  { name: 'join', kind: 'string', group: 'Raft', arg: 'URL', help: 'join the cluster through this member (ws://host:port) instead of bootstrapping one with --peers (needs a fixed --port); --peers only bootstraps a new cluster on its first start, afterwards the configuration in the log wins' },
  { name: 'cluster-secret-file', kind: 'string', group: 'Raft', arg: 'FILE', secretEnv: 'AEGIS_HUB_CLUSTER_SECRET', help: 'the secret the hubs of a cluster authenticate each other with (AEGIS_HUB_CLUSTER_SECRET may hold the secret itself); required with --peers or --join. Make one with: openssl rand -hex 32 > cluster-secret' },
  { name: 'cluster-token', kind: 'string', group: 'Raft', arg: 'SECRET', env: null, help: 'deprecated (the secret shows in the process list): use --cluster-secret-file' },
  { name: 'snapshot-every', kind: 'integer', group: 'Raft', arg: 'N', shown: '10000', help: 'snapshot the Raft state and compact its log every N entries' },
  ...HUB_LIMIT_FLAGS,
  { name: 'version', kind: 'boolean', group: 'Other', env: null, help: 'print the version and exit' },
  { name: 'help', kind: 'boolean', group: 'Other', env: null, short: 'h', help: 'this text' }
]

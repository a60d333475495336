/**
 * {@link parseConfig}: the TOML text of a config file → a complete, checked
 * {@link ReplicationConfig}. The caller reads the file (the core has no fs).
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'
import type { ReplicationConfig, ReplicationConfigInput } from './config.js'
import { buildConfig, fieldError, FIELDS, SECTIONS, type Field, type Namer } from './schema.js'
import { closest } from './suggest.js'
import { parseToml, type TomlEntry } from './toml.js'

const tomlName = (f: Field): string => `${f.section}.${f.key}`
const sectionList = (): string => SECTIONS.map(s => `[${s}]`).join(', ')
/** A value as written in the file, cut to fit a message. */
const cut = (raw: string): string => raw.length > 40 ? `${raw.slice(0, 40)}…` : raw

const unknownSection = (name: string, line: number): InvalidArgumentError => {
  const near = closest(name, SECTIONS)
  const hint = near !== undefined ? ` (did you mean [${near}]?)` : `; the sections are ${sectionList()}`
  return new InvalidArgumentError(`line ${line}: unknown section [${name}]${hint}`)
}

/** A key in no section, or one its section does not have: says where it belongs, or what is near. */
const unknownKey = (section: string, key: string, line: number): InvalidArgumentError => {
  const at = `line ${line}: `
  const same = FIELDS.filter(f => f.section === section).map(f => f.key)
  const near = closest(key, same)
  const anywhere = near === undefined ? closest(key, FIELDS.map(f => f.key)) : undefined
  const other = FIELDS.find(f => f.key === anywhere)
  if (section === '') {
    const hint = other === undefined ? `; put keys under one of ${sectionList()}` : other.key === key
      ? `: it belongs under [${other.section}]`
      : ` (did you mean ${other.key} under [${other.section}]?)`
    return new InvalidArgumentError(`${at}key ${key} is outside any section${hint}`)
  }
  const hint = near !== undefined
    ? ` (did you mean ${near}?)`
    : other !== undefined
      ? (other.key === key ? ` (${key} belongs under [${other.section}])` : ` (did you mean ${other.key} under [${other.section}]?)`)
      : `; [${section}] takes ${same.join(', ')}`
  return new InvalidArgumentError(`${at}unknown key ${section}.${key}${hint}`)
}

/**
 * Reads a config file's text: the sections and keys of the TOML below, in
 * snake_case, each optional (left out, it takes its default). Checks
 * everything {@link resolveConfig} checks, and rejects unknown sections and
 * keys; every error names the line.
 *
 * ```toml
 * [replication]
 * replication_factor = 3
 * consistency_level = "quorum"   # one, quorum, all
 * [raft]
 * election_timeout_min = 150
 * election_timeout_max = 300
 * heartbeat_interval = 50
 * [sharding]
 * strategy = "hash"              # hash, range
 * shard_count = 16
 * auto_rebalance = true
 * [hub]                          # the aegis-hub command
 * port = 4444
 * host = "127.0.0.1"
 * data_dir = "./.aegis-data"
 * idle_ms = 30000
 * allowed_origins = ["https://app.example"]   # or ["*"]; default: same host, loopback on loopback
 * allow_anonymous = false        # a non-loopback hub without auth refuses to start
 * auth_jwt_secret_file = "/run/secrets/jwt"   # HS256 secret of client JWTs
 * auth_jwks_url = "https://auth.example/.well-known/jwks.json"  # or RS256/ES256 keys
 * auth_jwt_issuer = "https://auth.example"
 * auth_jwt_audience = "aegis"
 * metrics_token_file = "/run/secrets/metrics"
 * max_connections = 10000        # every limit of HubLimits, in snake_case;
 * max_connections_per_ip = 100   # left out, the hub's default applies
 * messages_per_second = 500
 * ping_interval_ms = 30000
 * ```
 *
 * The limit keys: max_connections, max_connections_per_ip,
 * messages_per_second, bytes_per_second, messages_per_second_per_ip,
 * bytes_per_second_per_ip, max_rooms_per_connection, max_open_rooms,
 * max_presence_per_connection, max_presence_per_room,
 * max_presence_state_bytes, max_queued_bytes, max_message_bytes,
 * max_reassembly_bytes_per_connection, max_reassembly_bytes,
 * partial_message_timeout_ms, header_timeout_ms, ping_interval_ms (each a
 * positive integer).
 *
 * The TOML it reads is the subset a config needs: arrays only of strings
 * and on one line; no inline tables, dotted keys or multi-line strings.
 *
 * @throws {InvalidArgumentError} e.g. `line 6: raft.election_timeout_min must
 * be less than election_timeout_max (got 300 ≥ 200)`
 */
export const parseConfig = (toml: string): ReplicationConfig => {
  if (typeof toml !== 'string') throw new InvalidArgumentError(`parseConfig expects the TOML text, a string (got ${typeof toml})`)
  const set = new Map<Field, TomlEntry>()
  const input: Record<string, unknown> = {}
  const namer: Namer = {
    name: tomlName,
    short: f => f.key,
    where: f => { const e = set.get(f); return e === undefined ? '' : `line ${e.line}: ` },
    show: (f, v) => cut(set.get(f)?.raw ?? String(v)),
    isSet: f => set.has(f)
  }
  for (const [name, section] of parseToml(toml)) {
    if (name !== '' && !SECTIONS.includes(name as never)) throw unknownSection(name, section.line)
    for (const [key, entry] of section.entries) {
      const f = FIELDS.find(f => f.section === name && f.key === key)
      if (f === undefined) throw unknownKey(name, key, entry.line)
      set.set(f, entry)
      if (entry.type !== f.rule.kind || !f.rule.ok(entry.value)) throw fieldError(f, namer, cut(entry.raw))
      const target = f.section === 'replication' ? input : (input[f.section] ??= {}) as Record<string, unknown>
      target[f.prop] = entry.value
    }
  }
  return buildConfig(input as ReplicationConfigInput, namer)
}

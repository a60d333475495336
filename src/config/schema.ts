/**
 * Every config field once: its section, its TOML (snake_case) and object
 * (camelCase) names, and what it allows. {@link resolveConfig} and
 * {@link parseConfig} share these checks and differ only in how they name
 * a field in an error (`raft.electionTimeoutMin` or, with the file line,
 * `line 4: raft.election_timeout_min`).
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'
import { ConsistencyLevel, DEFAULT_CONFIG, ShardingStrategy, type ReplicationConfig, type ReplicationConfigInput } from './config.js'
import { HUB_FIELDS } from './hub-fields.js'
import { BOOLEAN, field, int, NON_EMPTY, oneOf, POSITIVE, type Field } from './rules.js'

export { SECTIONS } from './rules.js'
export type { Field, Rule, SectionName } from './rules.js'

export const ELECTION_MIN = /* @__PURE__ */ field('raft', 'election_timeout_min', 'electionTimeoutMin', POSITIVE)
export const ELECTION_MAX = /* @__PURE__ */ field('raft', 'election_timeout_max', 'electionTimeoutMax', POSITIVE)
export const HEARTBEAT = /* @__PURE__ */ field('raft', 'heartbeat_interval', 'heartbeatInterval', POSITIVE)

/** Every field, in the order of the TOML example. */
export const FIELDS: readonly Field[] = /* @__PURE__ */ (() => [
  field('replication', 'replication_factor', 'replicationFactor', POSITIVE),
  field('replication', 'consistency_level', 'consistencyLevel', oneOf(Object.values(ConsistencyLevel))),
  ELECTION_MIN,
  ELECTION_MAX,
  HEARTBEAT,
  field('sharding', 'strategy', 'strategy', oneOf(Object.values(ShardingStrategy))),
  field('sharding', 'shard_count', 'shardCount', POSITIVE),
  field('sharding', 'auto_rebalance', 'autoRebalance', BOOLEAN),
  field('hub', 'port', 'port', int(0, 65535, 'an integer from 0 to 65535')),
  field('hub', 'host', 'host', NON_EMPTY),
  field('hub', 'data_dir', 'dataDir', NON_EMPTY),
  field('hub', 'idle_ms', 'idleMs', int(0, Number.MAX_SAFE_INTEGER, 'an integer ≥ 0')),
  ...HUB_FIELDS
])()

/** How errors name a field and show a value. */
export interface Namer {
  /** `raft.election_timeout_min` or `raft.electionTimeoutMin` */
  name (f: Field): string
  /** the name inside its section: `election_timeout_max` */
  short (f: Field): string
  /** `line 4: ` for a field set in a file, else '' */
  where (f: Field): string
  /** the value as its author wrote it */
  show (f: Field, v: unknown): string
  /** whether the input set the field (else it has its default) */
  isSet (f: Field): boolean
}

type Loose = Record<string, unknown>

/** The field's value in a config or an input, `undefined` when not set. */
export const getField = (c: ReplicationConfig | ReplicationConfigInput, f: Field): unknown => {
  if (f.section === 'replication') return (c as Loose)[f.prop]
  const section = (c as Loose)[f.section]
  return typeof section === 'object' && section !== null ? (section as Loose)[f.prop] : undefined
}

/** A value for an error message: strings quoted, long text cut. */
export const showValue = (v: unknown): string => {
  if (typeof v === 'string') return v.length > 40 ? `${JSON.stringify(v.slice(0, 40)).slice(0, -1)}…"` : JSON.stringify(v)
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v)
  if (v === null || v === undefined) return String(v)
  return Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`
}

/** `line 4: raft.port must be an integer from 0 to 65535 (got 70000)` */
export const fieldError = (f: Field, n: Namer, got: string): InvalidArgumentError =>
  new InvalidArgumentError(`${n.where(f)}${n.name(f)} must be ${f.rule.allowed} (got ${got})`)

/** `lo` < `hi`, told from the side of the field the author set. */
const checkLess = (c: ReplicationConfig, lo: Field, hi: Field, n: Namer): void => {
  const l = getField(c, lo) as number
  const h = getField(c, hi) as number
  if (l < h) return
  const fromLo = n.isSet(lo) || !n.isSet(hi)
  const [subject, other] = fromLo ? [lo, hi] : [hi, lo]
  const relation = fromLo ? `less than ${n.short(hi)} (got ${l} ≥ ${h}` : `greater than ${n.short(lo)} (got ${h} ≤ ${l}`
  const note = n.isSet(other) ? '' : `; ${n.short(other)} defaults to ${String(getField(DEFAULT_CONFIG, other))}`
  throw new InvalidArgumentError(`${n.where(subject)}${n.name(subject)} must be ${relation}${note})`)
}

/**
 * Defaults for every field `input` leaves `undefined`, then every check:
 * each field's rule, `heartbeatInterval < electionTimeoutMin < electionTimeoutMax`.
 * Unknown keys are the caller's to reject.
 */
export const buildConfig = (input: ReplicationConfigInput, n: Namer): ReplicationConfig => {
  const d = DEFAULT_CONFIG
  const config = { ...d, raft: { ...d.raft }, sharding: { ...d.sharding }, hub: { ...d.hub } }
  for (const f of FIELDS) {
    const v = getField(input, f)
    if (v === undefined) continue
    if (!f.rule.ok(v)) throw fieldError(f, n, n.show(f, v))
    const target = (f.section === 'replication' ? config : config[f.section]) as Loose
    target[f.prop] = Array.isArray(v) ? Object.freeze([...v]) : v
  }
  checkLess(config, ELECTION_MIN, ELECTION_MAX, n)
  checkLess(config, HEARTBEAT, ELECTION_MIN, n)
  return config
}

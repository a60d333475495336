/**
 * The shape of a replication config and its defaults. {@link resolveConfig}
 * fills in and checks a partial one; {@link parseConfig} reads one from TOML.
 *
 * @module
 */

/** How many replicas must answer before a read or write completes. */
export const ConsistencyLevel = {
  One: 'one',
  Quorum: 'quorum',
  All: 'all'
} as const

/** One of the {@link ConsistencyLevel} values. */
export type ConsistencyLevel = typeof ConsistencyLevel[keyof typeof ConsistencyLevel]

/** How keys are spread over shards. */
export const ShardingStrategy = {
  Hash: 'hash',
  Range: 'range'
} as const

/** One of the {@link ShardingStrategy} values. */
export type ShardingStrategy = typeof ShardingStrategy[keyof typeof ShardingStrategy]

/** Raft timing, in milliseconds (`[raft]`). */
export interface RaftTimingConfig {
  /** Shortest election timeout. @default 150 */
  readonly electionTimeoutMin: number
  /** Longest election timeout; each timeout is drawn from [min, max). @default 300 */
  readonly electionTimeoutMax: number
  /** How often a leader sends heartbeats; less than `electionTimeoutMin`. @default 50 */
  readonly heartbeatInterval: number
}

/** How documents are spread over shards (`[sharding]`). */
export interface ShardingConfig {
  /** @default 'hash' */
  readonly strategy: ShardingStrategy
  /** @default 16 */
  readonly shardCount: number
  /** Move shards when hubs join or leave. @default true */
  readonly autoRebalance: boolean
}

/** What the `aegis-hub` command listens on and where it stores rooms (`[hub]`). */
export interface HubConfig {
  /** TCP port, 0 picks a free one. @default 4444 */
  readonly port: number
  /** Interface to listen on. @default '127.0.0.1' */
  readonly host: string
  /** Where rooms are stored. @default './.aegis-data' */
  readonly dataDir: string
  /** Unload a room this many ms after its last client left. @default 30000 */
  readonly idleMs: number
}

/** A complete, checked config: what {@link resolveConfig} and {@link parseConfig} return. */
export interface ReplicationConfig {
  /** Copies kept of each shard, on distinct hubs (`[replication] replication_factor`). @default 3 */
  readonly replicationFactor: number
  /** `[replication] consistency_level`. @default 'quorum' */
  readonly consistencyLevel: ConsistencyLevel
  readonly raft: RaftTimingConfig
  readonly sharding: ShardingConfig
  readonly hub: HubConfig
}

/** A partial config: every field left out (or `undefined`) takes its default. */
export interface ReplicationConfigInput {
  replicationFactor?: number | undefined
  consistencyLevel?: ConsistencyLevel | undefined
  raft?: { [K in keyof RaftTimingConfig]?: RaftTimingConfig[K] | undefined } | undefined
  sharding?: { [K in keyof ShardingConfig]?: ShardingConfig[K] | undefined } | undefined
  hub?: { [K in keyof HubConfig]?: HubConfig[K] | undefined } | undefined
}

/** Every default, frozen. */
export const DEFAULT_CONFIG: ReplicationConfig = /* @__PURE__ */ Object.freeze({
  replicationFactor: 3,
  consistencyLevel: ConsistencyLevel.Quorum,
  raft: /* @__PURE__ */ Object.freeze({ electionTimeoutMin: 150, electionTimeoutMax: 300, heartbeatInterval: 50 }),
  sharding: /* @__PURE__ */ Object.freeze({ strategy: ShardingStrategy.Hash, shardCount: 16, autoRebalance: true }),
  hub: /* @__PURE__ */ Object.freeze({ port: 4444, host: '127.0.0.1', dataDir: './.aegis-data', idleMs: 30_000 })
})

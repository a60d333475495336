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

/**
 * The hub's limits as config keys (`[hub] max_connections = 5000`). Each one
 * left out takes the hub's own default (see `HubLimits` in
 * `aegis-replication/hub`), so none has a default here.
 */
export interface HubLimitsConfig {
  /** Open client connections. @default the hub's (10000) */
  readonly maxConnections?: number
  /** Open connections from one IP address. @default the hub's (100) */
  readonly maxConnectionsPerIp?: number
  /** Messages per second one connection may send. @default the hub's (500) */
  readonly messagesPerSecond?: number
  /** Bytes per second one connection may send. @default the hub's (16 MiB) */
  readonly bytesPerSecond?: number
  /** Messages per second all connections from one IP may send together. @default the hub's (2000) */
  readonly messagesPerSecondPerIp?: number
  /** Bytes per second all connections from one IP may send together. @default the hub's (64 MiB) */
  readonly bytesPerSecondPerIp?: number
  /** Rooms one connection may join. @default the hub's (100) */
  readonly maxRoomsPerConnection?: number
  /** Rooms open on the hub at once. @default the hub's (10000) */
  readonly maxOpenRooms?: number
  /** Awareness client ids one connection may announce in one room. @default the hub's (16) */
  readonly maxPresencePerConnection?: number
  /** Awareness states one room holds. @default the hub's (1000) */
  readonly maxPresencePerRoom?: number
  /** Largest JSON presence state of one client, in bytes. @default the hub's (16 KiB) */
  readonly maxPresenceStateBytes?: number
  /** Bytes queued for a connection before it is closed as a slow consumer. @default the hub's (64 MiB) */
  readonly maxQueuedBytes?: number
  /** Largest message after reassembly of its chunks. @default the hub's (64 MiB) */
  readonly maxMessageBytes?: number
  /** Bytes of partly received chunked messages one connection may hold. @default the hub's (64 MiB) */
  readonly maxReassemblyBytesPerConnection?: number
  /** Bytes of partly received chunked messages all connections may hold together. @default the hub's (256 MiB) */
  readonly maxReassemblyBytes?: number
  /** A chunked message not completed in this many ms is dropped. @default the hub's (30000) */
  readonly partialMessageTimeoutMs?: number
  /** An HTTP request must send its headers within this many ms. @default the hub's (10000) */
  readonly headerTimeoutMs?: number
  /** The hub pings every WebSocket this often, in ms. @default the hub's (30000) */
  readonly pingIntervalMs?: number
}

/**
 * What the `aegis-hub` command listens on, where it stores rooms, who may
 * connect and its limits (`[hub]`). File paths are relative to the current
 * directory, as on the command line.
 */
export interface HubConfig extends HubLimitsConfig {
  /** TCP port, 0 picks a free one. @default 4444 */
  readonly port: number
  /** Interface to listen on. @default '127.0.0.1' */
  readonly host: string
  /** Where rooms are stored. @default './.aegis-data' */
  readonly dataDir: string
  /** Unload a room this many ms after its last client left. @default 30000 */
  readonly idleMs: number
  /** Origins whose pages may open the hub's socket; `['*']` for any. @default the hub's (same host, or loopback origins on a loopback hub) */
  readonly allowedOrigins?: readonly string[]
  /** Let a hub on a non-loopback interface run without auth. @default false */
  readonly allowAnonymous: boolean
  /** A file holding the bearer token `/metrics` needs. @default none (loopback clients only) */
  readonly metricsTokenFile?: string
  /** A file holding the HS256 secret of client JWTs. @default none */
  readonly authJwtSecretFile?: string
  /** A JWKS URL whose keys sign client JWTs (RS256, ES256). @default none */
  readonly authJwksUrl?: string
  /** The `iss` client JWTs must carry. @default any */
  readonly authJwtIssuer?: string
  /** The `aud` client JWTs must carry. @default any */
  readonly authJwtAudience?: string
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
  hub: /* @__PURE__ */ Object.freeze({ port: 4444, host: '127.0.0.1', dataDir: './.aegis-data', idleMs: 30_000, allowAnonymous: false })
})

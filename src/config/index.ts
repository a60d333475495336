/**
 * Config: {@link ReplicationConfig} with its defaults ({@link DEFAULT_CONFIG}),
 * {@link resolveConfig} to complete and check a partial one, and
 * {@link parseConfig} to read one from a TOML file's text (`replication_factor`,
 * `[raft] election_timeout_min`, …: the same keys in snake_case).
 *
 * ```ts
 * import { parseConfig, resolveConfig } from 'aegis-replication'
 * const config = parseConfig('[replication]\nconsistency_level = "all"\n[sharding]\nshard_count = 64\n')
 * config.sharding.shardCount              // 64
 * config.raft.electionTimeoutMin          // 150 (the default)
 * resolveConfig({ replicationFactor: 5 }).consistencyLevel // 'quorum'
 * ```
 *
 * @module
 */
export { ConsistencyLevel, ShardingStrategy, DEFAULT_CONFIG } from './config.js'
export type { ReplicationConfig, ReplicationConfigInput, RaftTimingConfig, ShardingConfig, HubConfig, HubLimitsConfig } from './config.js'
export { closest } from './suggest.js'
export { resolveConfig } from './resolve-config.js'
export { parseConfig } from './parse-config.js'

/**
 * `DEFAULT_CONFIG` and `resolveConfig`: defaults, every check and its
 * message, unknown keys in a config object.
 */
import { describe, expect, it } from 'vitest'
import { InvalidArgumentError } from 'aegis-replication'
import { ConsistencyLevel, DEFAULT_CONFIG, resolveConfig, ShardingStrategy, type ReplicationConfigInput } from 'aegis-replication/config'

const rejects = (input: unknown, message: string): void => {
  let error: unknown
  try { resolveConfig(input as ReplicationConfigInput) } catch (err) { error = err }
  expect(error).toBeInstanceOf(InvalidArgumentError)
  expect((error as Error).name).toBe('InvalidArgumentError')
  expect((error as Error).message).toBe(message)
}

describe('defaults', () => {
  it('DEFAULT_CONFIG holds the documented defaults', () => {
    expect(DEFAULT_CONFIG).toEqual({
      replicationFactor: 3,
      consistencyLevel: 'quorum',
      raft: { electionTimeoutMin: 150, electionTimeoutMax: 300, heartbeatInterval: 50 },
      sharding: { strategy: 'hash', shardCount: 16, autoRebalance: true },
      hub: { port: 4444, host: '127.0.0.1', dataDir: './.aegis-data', idleMs: 30_000, allowAnonymous: false }
    })
    expect(ConsistencyLevel).toEqual({ One: 'one', Quorum: 'quorum', All: 'all' })
    expect(ShardingStrategy).toEqual({ Hash: 'hash', Range: 'range' })
  })

  it('DEFAULT_CONFIG is frozen, down to its sections', () => {
    expect(Object.isFrozen(DEFAULT_CONFIG)).toBe(true)
    for (const section of [DEFAULT_CONFIG.raft, DEFAULT_CONFIG.sharding, DEFAULT_CONFIG.hub]) expect(Object.isFrozen(section)).toBe(true)
  })

  it('resolveConfig() and resolveConfig({}) give the defaults, as a fresh object', () => {
    expect(resolveConfig()).toEqual(DEFAULT_CONFIG)
    expect(resolveConfig({})).toEqual(DEFAULT_CONFIG)
    expect(resolveConfig()).not.toBe(DEFAULT_CONFIG)
    expect(resolveConfig().raft).not.toBe(DEFAULT_CONFIG.raft)
  })

  it('fills in what a partial config leaves out, and undefined counts as left out', () => {
    const config = resolveConfig({
      consistencyLevel: 'all',
      raft: { electionTimeoutMax: 1000, heartbeatInterval: undefined },
      sharding: { strategy: 'range' },
      hub: { port: 0 }
    })
    expect(config).toEqual({
      ...DEFAULT_CONFIG,
      consistencyLevel: 'all',
      raft: { ...DEFAULT_CONFIG.raft, electionTimeoutMax: 1000 },
      sharding: { ...DEFAULT_CONFIG.sharding, strategy: 'range' },
      hub: { ...DEFAULT_CONFIG.hub, port: 0 }
    })
  })

  it('accepts the edges of every range', () => {
    const config = resolveConfig({
      replicationFactor: 1,
      raft: { heartbeatInterval: 1, electionTimeoutMin: 2, electionTimeoutMax: 3 },
      sharding: { shardCount: 1, autoRebalance: false },
      hub: { port: 65_535, idleMs: 0 }
    })
    expect(config.raft).toEqual({ heartbeatInterval: 1, electionTimeoutMin: 2, electionTimeoutMax: 3 })
    expect(resolveConfig({ hub: { port: 0 } }).hub.port).toBe(0)
  })
})

describe('resolveConfig checks', () => {
  it('counts and times are positive integers', () => {
    rejects({ replicationFactor: 0 }, 'replicationFactor must be a positive integer (got 0)')
    rejects({ replicationFactor: -3 }, 'replicationFactor must be a positive integer (got -3)')
    rejects({ replicationFactor: 2.5 }, 'replicationFactor must be a positive integer (got 2.5)')
    rejects({ replicationFactor: '3' }, 'replicationFactor must be a positive integer (got "3")')
    rejects({ replicationFactor: Number.NaN }, 'replicationFactor must be a positive integer (got NaN)')
    rejects({ replicationFactor: null }, 'replicationFactor must be a positive integer (got null)')
    rejects({ raft: { electionTimeoutMin: 0 } }, 'raft.electionTimeoutMin must be a positive integer (got 0)')
    rejects({ raft: { electionTimeoutMax: Infinity } }, 'raft.electionTimeoutMax must be a positive integer (got Infinity)')
    rejects({ raft: { heartbeatInterval: 1.5 } }, 'raft.heartbeatInterval must be a positive integer (got 1.5)')
    rejects({ sharding: { shardCount: 0 } }, 'sharding.shardCount must be a positive integer (got 0)')
    rejects({ sharding: { shardCount: 2 ** 53 } }, `sharding.shardCount must be a positive integer (got ${2 ** 53})`)
    rejects({ hub: { idleMs: -1 } }, 'hub.idleMs must be an integer ≥ 0 (got -1)')
  })

  it('electionTimeoutMin < electionTimeoutMax', () => {
    rejects({ raft: { electionTimeoutMin: 300, electionTimeoutMax: 200 } },
      'raft.electionTimeoutMin must be less than electionTimeoutMax (got 300 ≥ 200)')
    rejects({ raft: { electionTimeoutMin: 200, electionTimeoutMax: 200 } },
      'raft.electionTimeoutMin must be less than electionTimeoutMax (got 200 ≥ 200)')
    rejects({ raft: { electionTimeoutMin: 400 } },
      'raft.electionTimeoutMin must be less than electionTimeoutMax (got 400 ≥ 300; electionTimeoutMax defaults to 300)')
    rejects({ raft: { electionTimeoutMax: 100 } },
      'raft.electionTimeoutMax must be greater than electionTimeoutMin (got 100 ≤ 150; electionTimeoutMin defaults to 150)')
  })

  it('heartbeatInterval < electionTimeoutMin', () => {
    rejects({ raft: { heartbeatInterval: 150 } },
      'raft.heartbeatInterval must be less than electionTimeoutMin (got 150 ≥ 150; electionTimeoutMin defaults to 150)')
    rejects({ raft: { heartbeatInterval: 100, electionTimeoutMin: 80 } },
      'raft.heartbeatInterval must be less than electionTimeoutMin (got 100 ≥ 80)')
    rejects({ raft: { electionTimeoutMin: 40 } },
      'raft.electionTimeoutMin must be greater than heartbeatInterval (got 40 ≤ 50; heartbeatInterval defaults to 50)')
  })

  it('enums, booleans, strings and the port', () => {
    rejects({ consistencyLevel: 'strong' }, 'consistencyLevel must be one of one, quorum, all (got "strong")')
    rejects({ consistencyLevel: 'QUORUM' }, 'consistencyLevel must be one of one, quorum, all (got "QUORUM")')
    rejects({ sharding: { strategy: 'modulo' } }, 'sharding.strategy must be one of hash, range (got "modulo")')
    rejects({ sharding: { autoRebalance: 'yes' } }, 'sharding.autoRebalance must be true or false (got "yes")')
    rejects({ sharding: { autoRebalance: 1 } }, 'sharding.autoRebalance must be true or false (got 1)')
    rejects({ hub: { port: 65_536 } }, 'hub.port must be an integer from 0 to 65535 (got 65536)')
    rejects({ hub: { port: -1 } }, 'hub.port must be an integer from 0 to 65535 (got -1)')
    rejects({ hub: { host: '' } }, 'hub.host must be a non-empty string (got "")')
    rejects({ hub: { dataDir: 7 } }, 'hub.dataDir must be a non-empty string (got 7)')
    rejects({ hub: { dataDir: ['a'] } }, 'hub.dataDir must be a non-empty string (got an array)')
    rejects({ consistencyLevel: 'x'.repeat(100) }, `consistencyLevel must be one of one, quorum, all (got "${'x'.repeat(40)}…")`)
  })

  it('the config and its sections must be objects', () => {
    rejects(null, 'resolveConfig expects an object (got null)')
    rejects('[raft]', 'resolveConfig expects an object (got "[raft]")')
    rejects([], 'resolveConfig expects an object (got an array)')
    rejects({ raft: 5 }, 'raft must be an object (got 5)')
    rejects({ hub: null }, 'hub must be an object (got null)')
    rejects({ sharding: [] }, 'sharding must be an object (got an array)')
  })
})

describe('resolveConfig unknown keys', () => {
  it('suggests the key meant', () => {
    rejects({ replicationFactr: 3 }, 'unknown key replicationFactr (did you mean replicationFactor?)')
    rejects({ sharding: { shardCnt: 3 } }, 'unknown key sharding.shardCnt (did you mean sharding.shardCount?)')
    rejects({ raft: { heartbeat_interval: 10 } }, 'unknown key raft.heartbeat_interval (did you mean raft.heartbeatInterval?)')
    rejects({ hub: { prot: 1 } }, 'unknown key hub.prot (did you mean hub.port?)')
    rejects({ shardCount: 3 }, 'unknown key shardCount (did you mean sharding.shardCount?)')
    rejects({ raft: { shardCount: 3 } }, 'unknown key raft.shardCount (did you mean sharding.shardCount?)')
  })

  it('lists what is allowed when nothing is near', () => {
    rejects({ zzz: 1 }, 'unknown key zzz; a config takes replicationFactor, consistencyLevel, raft, sharding, hub')
    rejects({ raft: { zzz: 1 } }, 'unknown key raft.zzz; raft takes electionTimeoutMin, electionTimeoutMax, heartbeatInterval')
  })

  it('rejects an unknown key even when its value is undefined', () => {
    rejects({ hub: { dataDirectory: undefined } }, 'unknown key hub.dataDirectory; hub takes port, host, dataDir, idleMs, allowedOrigins, allowAnonymous, metricsTokenFile, authJwtSecretFile, authJwksUrl, authJwtIssuer, authJwtAudience, maxConnections, maxConnectionsPerIp, messagesPerSecond, bytesPerSecond, messagesPerSecondPerIp, bytesPerSecondPerIp, maxRoomsPerConnection, maxOpenRooms, maxPresencePerConnection, maxPresencePerRoom, maxPresenceStateBytes, maxQueuedBytes, maxMessageBytes, maxReassemblyBytesPerConnection, maxReassemblyBytes, partialMessageTimeoutMs, headerTimeoutMs, pingIntervalMs')
  })
})

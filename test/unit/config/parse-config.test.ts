/**
 * `parseConfig`: the ARCHITECTURE example, the TOML subset it reads, and
 * every error it gives (each naming the line, the key, what was wrong and
 * what is allowed).
 */
import { describe, expect, it } from 'vitest'
import { InvalidArgumentError } from 'aegis-replication'
import { DEFAULT_CONFIG, parseConfig } from 'aegis-replication/config'

/** The example in ARCHITECTURE.md ("Config"), verbatim. */
const ARCHITECTURE_EXAMPLE = `[replication]
replication_factor = 3
consistency_level = "quorum"   # one, quorum, all
[raft]
election_timeout_min = 150
election_timeout_max = 300
heartbeat_interval = 50
[sharding]
strategy = "hash"              # hash, range
shard_count = 16
auto_rebalance = true
`

const rejects = (toml: string, message: string): void => {
  let error: unknown
  try { parseConfig(toml) } catch (err) { error = err }
  expect(error, toml).toBeInstanceOf(InvalidArgumentError)
  expect((error as Error).name).toBe('InvalidArgumentError')
  expect((error as Error).message).toBe(message)
}

describe('parseConfig reads', () => {
  it('the ARCHITECTURE example', () => {
    expect(parseConfig(ARCHITECTURE_EXAMPLE)).toEqual({
      replicationFactor: 3,
      consistencyLevel: 'quorum',
      raft: { electionTimeoutMin: 150, electionTimeoutMax: 300, heartbeatInterval: 50 },
      sharding: { strategy: 'hash', shardCount: 16, autoRebalance: true },
      hub: { port: 4444, host: '127.0.0.1', dataDir: './.aegis-data', idleMs: 30_000, allowAnonymous: false }
    })
  })

  it('every key, each in snake_case', () => {
    expect(parseConfig(`
# a hub of a 5-replica cluster
[replication]
replication_factor = 5
consistency_level = "all"

[raft]
election_timeout_min = 500
election_timeout_max = 1_000
heartbeat_interval = 100

[sharding]
strategy = "range"
shard_count = 64
auto_rebalance = false

[hub]
port = 8080
host = "0.0.0.0"
data_dir = '/var/lib/aegis'
idle_ms = 0
`)).toEqual({
      replicationFactor: 5,
      consistencyLevel: 'all',
      raft: { electionTimeoutMin: 500, electionTimeoutMax: 1000, heartbeatInterval: 100 },
      sharding: { strategy: 'range', shardCount: 64, autoRebalance: false },
      hub: { port: 8080, host: '0.0.0.0', dataDir: '/var/lib/aegis', idleMs: 0, allowAnonymous: false }
    })
  })

  it('an empty file, blank lines and comments as the defaults', () => {
    expect(parseConfig('')).toEqual(DEFAULT_CONFIG)
    expect(parseConfig('\n\n   \t\n# nothing here\n  # indented comment\n')).toEqual(DEFAULT_CONFIG)
    expect(parseConfig('[raft]\n[hub]   # empty sections\n')).toEqual(DEFAULT_CONFIG)
  })

  it('sections in any order, keys left out take their defaults', () => {
    const config = parseConfig('[hub]\nport = 0\n[replication]\nconsistency_level = "one"\n')
    expect(config).toEqual({ ...DEFAULT_CONFIG, consistencyLevel: 'one', hub: { ...DEFAULT_CONFIG.hub, port: 0 } })
  })

  it('CRLF line endings, a byte order mark, indentation and no trailing newline', () => {
    expect(parseConfig('\uFEFF[sharding]\r\n  shard_count\t=\t8 \r\n\tstrategy="range"#c')).toEqual({
      ...DEFAULT_CONFIG, sharding: { ...DEFAULT_CONFIG.sharding, shardCount: 8, strategy: 'range' }
    })
  })

  it('integers: signs, underscores, hex, octal and binary', () => {
    const count = (v: string): number => parseConfig(`[sharding]\nshard_count = ${v}`).sharding.shardCount
    expect(count('+16')).toBe(16)
    expect(count('1_024')).toBe(1024)
    expect(count('0x10')).toBe(16)
    expect(count('0xdead_BEEF')).toBe(0xdeadbeef)
    expect(count('0o17')).toBe(15)
    expect(count('0b1010')).toBe(10)
    expect(parseConfig('[hub]\nport = -0').hub.port).toBe(0)
  })

  it('basic strings with every escape, and literal strings as written', () => {
    const host = (v: string): string => parseConfig(`[hub]\nhost = ${v}`).hub.host
    expect(host('"a\\tb\\nc\\"d\\\\e\\b\\f\\r"')).toBe('a\tb\nc"d\\e\b\f\r')
    expect(host('"caf\\u00e9 \\U0001F600"')).toBe('café 😀')
    expect(host('"# not a comment"  # a comment')).toBe('# not a comment')
    expect(host("'C:\\data\\n' # literal")).toBe('C:\\data\\n')
    expect(host('"tab\tinside"')).toBe('tab\tinside')
    expect(host('"ünïcödé ✓"')).toBe('ünïcödé ✓')
  })
})

describe('parseConfig checks values', () => {
  it('counts and times are positive integers', () => {
    rejects('[replication]\nreplication_factor = 0', 'line 2: replication.replication_factor must be a positive integer (got 0)')
    rejects('[replication]\nreplication_factor = -1', 'line 2: replication.replication_factor must be a positive integer (got -1)')
    rejects('[replication]\nreplication_factor = 3.0', 'line 2: replication.replication_factor must be a positive integer (got 3.0)')
    rejects('[replication]\nreplication_factor = 2.5e1', 'line 2: replication.replication_factor must be a positive integer (got 2.5e1)')
    rejects('[replication]\nreplication_factor = "3"', 'line 2: replication.replication_factor must be a positive integer (got "3")')
    rejects('[replication]\nreplication_factor = true', 'line 2: replication.replication_factor must be a positive integer (got true)')
    rejects('[raft]\nelection_timeout_min = inf', 'line 2: raft.election_timeout_min must be a positive integer (got inf)')
    rejects('[raft]\nelection_timeout_max = nan', 'line 2: raft.election_timeout_max must be a positive integer (got nan)')
    rejects('[raft]\n\nheartbeat_interval = 0', 'line 3: raft.heartbeat_interval must be a positive integer (got 0)')
    rejects('[sharding]\nshard_count = 0', 'line 2: sharding.shard_count must be a positive integer (got 0)')
    rejects('[hub]\nidle_ms = -5', 'line 2: hub.idle_ms must be an integer ≥ 0 (got -5)')
  })

  it('raft.election_timeout_min < election_timeout_max', () => {
    rejects('[raft]\nelection_timeout_min = 300\nelection_timeout_max = 200',
      'line 2: raft.election_timeout_min must be less than election_timeout_max (got 300 ≥ 200)')
    rejects('[raft]\nelection_timeout_min = 400',
      'line 2: raft.election_timeout_min must be less than election_timeout_max (got 400 ≥ 300; election_timeout_max defaults to 300)')
    rejects('[raft]\n# shorter\nelection_timeout_max = 100',
      'line 3: raft.election_timeout_max must be greater than election_timeout_min (got 100 ≤ 150; election_timeout_min defaults to 150)')
  })

  it('raft.heartbeat_interval < election_timeout_min', () => {
    rejects('[raft]\nheartbeat_interval = 200',
      'line 2: raft.heartbeat_interval must be less than election_timeout_min (got 200 ≥ 150; election_timeout_min defaults to 150)')
    rejects('[raft]\nelection_timeout_min = 80\nheartbeat_interval = 80',
      'line 3: raft.heartbeat_interval must be less than election_timeout_min (got 80 ≥ 80)')
    rejects('[raft]\nelection_timeout_min = 40',
      'line 2: raft.election_timeout_min must be greater than heartbeat_interval (got 40 ≤ 50; heartbeat_interval defaults to 50)')
  })

  it('enums, booleans, strings and the port', () => {
    rejects('[replication]\nconsistency_level = "strong"', 'line 2: replication.consistency_level must be one of one, quorum, all (got "strong")')
    rejects("[replication]\nconsistency_level = 'Quorum'", "line 2: replication.consistency_level must be one of one, quorum, all (got 'Quorum')")
    rejects('[replication]\nconsistency_level = 2', 'line 2: replication.consistency_level must be one of one, quorum, all (got 2)')
    rejects('[sharding]\nstrategy = "modulo"', 'line 2: sharding.strategy must be one of hash, range (got "modulo")')
    rejects('[sharding]\nauto_rebalance = "yes"', 'line 2: sharding.auto_rebalance must be true or false (got "yes")')
    rejects('[sharding]\nauto_rebalance = 1', 'line 2: sharding.auto_rebalance must be true or false (got 1)')
    rejects('[hub]\nport = 65536', 'line 2: hub.port must be an integer from 0 to 65535 (got 65536)')
    rejects('[hub]\nport = "4444"', 'line 2: hub.port must be an integer from 0 to 65535 (got "4444")')
    rejects('[hub]\nhost = ""', 'line 2: hub.host must be a non-empty string (got "")')
    rejects('[hub]\ndata_dir = 5', 'line 2: hub.data_dir must be a non-empty string (got 5)')
  })

  it('cuts a long value in the message', () => {
    rejects(`[replication]\nconsistency_level = '${'x'.repeat(100)}'`,
      `line 2: replication.consistency_level must be one of one, quorum, all (got '${'x'.repeat(39)}…)`)
  })

  it('reports the first bad line of the file', () => {
    rejects('[sharding]\nshard_count = 0\n[replication]\nreplication_factor = 0', 'line 2: sharding.shard_count must be a positive integer (got 0)')
  })

  it('rejects a text that is not a string', () => {
    rejects(42 as unknown as string, 'parseConfig expects the TOML text, a string (got number)')
  })
})

describe('parseConfig rejects unknown sections and keys', () => {
  it('a misspelt key, with the key meant', () => {
    rejects('[sharding]\nshard_cnt = 3', 'line 2: unknown key sharding.shard_cnt (did you mean shard_count?)')
    rejects('[hub]\nprot = 1', 'line 2: unknown key hub.prot (did you mean port?)')
    rejects('[raft]\nelectionTimeoutMin = 100', 'line 2: unknown key raft.electionTimeoutMin (did you mean election_timeout_min?)')
    rejects('[replication]\nconsistency-level = "one"', 'line 2: unknown key replication.consistency-level (did you mean consistency_level?)')
  })

  it('a key in the wrong section, with where it belongs', () => {
    rejects('[raft]\nshard_count = 3', 'line 2: unknown key raft.shard_count (shard_count belongs under [sharding])')
    rejects('[hub]\nheartbeat_intervl = 3', 'line 2: unknown key hub.heartbeat_intervl (did you mean heartbeat_interval under [raft]?)')
  })

  it('an unknown key, with the keys its section takes', () => {
    rejects('[sharding]\nreplicas = 3', 'line 2: unknown key sharding.replicas; [sharding] takes strategy, shard_count, auto_rebalance')
    rejects('[hub]\nauth = "x"', 'line 2: unknown key hub.auth; [hub] takes port, host, data_dir, idle_ms, allowed_origins, allow_anonymous, metrics_token_file, auth_jwt_secret_file, auth_jwks_url, auth_jwt_issuer, auth_jwt_audience, max_connections, max_connections_per_ip, messages_per_second, bytes_per_second, messages_per_second_per_ip, bytes_per_second_per_ip, max_rooms_per_connection, max_open_rooms, max_presence_per_connection, max_presence_per_room, max_presence_state_bytes, max_queued_bytes, max_message_bytes, max_reassembly_bytes_per_connection, max_reassembly_bytes, partial_message_timeout_ms, header_timeout_ms, ping_interval_ms')
  })

  it('a key outside any section', () => {
    rejects('replication_factor = 3', 'line 1: key replication_factor is outside any section: it belongs under [replication]')
    rejects('\nshard_cout = 3', 'line 2: key shard_cout is outside any section (did you mean shard_count under [sharding]?)')
    rejects('name = "x"', 'line 1: key name is outside any section; put keys under one of [replication], [raft], [sharding], [hub]')
  })

  it('an unknown section', () => {
    rejects('[shardng]\nshard_count = 3', 'line 1: unknown section [shardng] (did you mean [sharding]?)')
    rejects('[raft]\n[Hub]', 'line 2: unknown section [Hub] (did you mean [hub]?)')
    rejects('[cluster]', 'line 1: unknown section [cluster]; the sections are [replication], [raft], [sharding], [hub]')
  })
})

describe('parseConfig rejects what its TOML subset does not read', () => {
  it.each([
    ['[raft]\n[raft]', 'line 2: section [raft] is defined twice (first on line 1)'],
    ['[hub]\nport = 1\nport = 2', 'line 3: hub.port is set twice (first on line 2)'],
    ['x = 1\n[x]', 'line 2: section [x] clashes with the key x on line 1'],
    ['[[hub]]', 'line 1: arrays of tables ([[…]]) are not supported'],
    ['[raft.timing]', 'line 1: nested tables ([raft.…]) are not supported'],
    ['["hub"]', 'line 1: quoted section names are not supported'],
    ['[]', 'line 1: expected a section name after "["'],
    ['[hub', 'line 1: expected "]" after [hub'],
    ['[hub] port = 1', 'line 1: unexpected "port = 1" after [hub]'],
    ['raft.heartbeat_interval = 10', 'line 1: dotted keys (raft.…) are not supported: put the key under its [section]'],
    ['"port" = 1', 'line 1: quoted keys are not supported: use a bare key (letters, digits, _ and -)'],
    ['[hub]\nport 1', 'line 2: expected "=" after the key hub.port'],
    ['[hub]\nport =', 'line 2: hub.port has no value'],
    ['[hub]\nport = # none', 'line 2: hub.port has no value'],
    ['[hub]\nport = 1 2', 'line 2: unexpected "2" after the value of hub.port'],
    ['[hub]\nhost = "a" "b"', 'line 2: unexpected "\\"b\\"" after the value of hub.host'],
    ['[hub]\nhost = [1]', 'line 2: only arrays of strings are supported (hub.host)'],
    ['[hub]\nhost = { a = 1 }', 'line 2: inline tables are not supported (hub.host)'],
    ['[hub]\nhost = """x"""', 'line 2: multi-line strings are not supported'],
    ["[hub]\nhost = '''x'''", 'line 2: multi-line strings are not supported'],
    ['[hub]\nhost = "abc', 'line 2: unterminated string: the closing " is missing'],
    ['[hub]\nhost = "abc\\"', 'line 2: unterminated string: the closing " is missing'],
    ["[hub]\nhost = 'abc", "line 2: unterminated string: the closing ' is missing"],
    ['[hub]\nhost = "\\x41"', 'line 2: invalid escape \\x in a string (allowed: \\b \\t \\n \\f \\r \\" \\\\ \\uXXXX \\UXXXXXXXX)'],
    ['[hub]\nhost = "\\u12"', 'line 2: \\u must be followed by 4 hex digits'],
    ['[hub]\nhost = "\\uD800"', 'line 2: \\uD800 is not a Unicode scalar value'],
    ['[hub]\nhost = "\\U00110000"', 'line 2: \\U00110000 is not a Unicode scalar value'],
    ['[hub]\nhost = "a\u0001b"', 'line 2: control character U+0001 is not allowed'],
    ['[hub]\r\nhost = "a"\rb', 'line 2: control character U+000D is not allowed'],
    ['# \u007f', 'line 1: control character U+007F is not allowed'],
    ['[hub]\nhost = yes', 'line 2: cannot read the value "yes" of hub.host: expected a string ("…" or \'…\'), a number, true or false'],
    ['[hub]\nport = 0123', 'line 2: cannot read the value "0123" of hub.port: expected a string ("…" or \'…\'), a number, true or false'],
    ['[hub]\nport = 1__0', 'line 2: cannot read the value "1__0" of hub.port: expected a string ("…" or \'…\'), a number, true or false'],
    ['[hub]\nport = 10_', 'line 2: cannot read the value "10_" of hub.port: expected a string ("…" or \'…\'), a number, true or false'],
    ['[hub]\nport = .5', 'line 2: cannot read the value ".5" of hub.port: expected a string ("…" or \'…\'), a number, true or false'],
    ['[hub]\nport = 0X10', 'line 2: cannot read the value "0X10" of hub.port: expected a string ("…" or \'…\'), a number, true or false'],
    ['[hub]\nport = TRUE', 'line 2: cannot read the value "TRUE" of hub.port: expected a string ("…" or \'…\'), a number, true or false'],
    ['[hub]\nport = 9007199254740992', 'line 2: the integer "9007199254740992" is out of range (at most ±9007199254740991)'],
    ['[hub]\nport = 1979-05-27', 'line 2: dates and times are not supported (hub.port = "1979-05-27")'],
    ['[hub]\nport = 07:32:00', 'line 2: dates and times are not supported (hub.port = "07:32:00")'],
    ['= 1', 'line 1: expected a key, a [section] or a # comment, found "= 1"'],
    ['\u00a0port = 1', 'line 1: expected a key, a [section] or a # comment, found "\u00a0port = 1"']
  ])('%j', (toml, message) => rejects(toml, message))
})

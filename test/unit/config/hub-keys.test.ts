/**
 * The [hub] keys for who may connect and for the limits: read from TOML
 * (allowed_origins as a one-line array of strings), checked, and misspelt
 * keys answered with "did you mean".
 */
import { describe, expect, it } from 'vitest'
import { InvalidArgumentError } from 'aegis-replication'
import { DEFAULT_CONFIG, parseConfig, resolveConfig } from 'aegis-replication/config'

const rejects = (run: () => unknown, message: string): void => {
  let error: unknown
  try { run() } catch (err) { error = err }
  expect(error).toBeInstanceOf(InvalidArgumentError)
  expect((error as Error).message).toBe(message)
}

describe('[hub] auth, origins and limits', () => {
  it('reads every new key', () => {
    const config = parseConfig([
      '[hub]',
      `allowed_origins = ["https://app.example", 'http://localhost:5173', ]  # trailing comma`,
      'allow_anonymous = true',
      'metrics_token_file = "/run/secrets/metrics"',
      'auth_jwt_secret_file = "/run/secrets/jwt"',
      'auth_jwks_url = "https://auth.example/.well-known/jwks.json"',
      'auth_jwt_issuer = "https://auth.example"',
      'auth_jwt_audience = "aegis"',
      'max_connections = 5_000',
      'max_connections_per_ip = 20',
      'messages_per_second = 100',
      'bytes_per_second = 1048576',
      'messages_per_second_per_ip = 400',
      'bytes_per_second_per_ip = 4194304',
      'max_rooms_per_connection = 10',
      'max_open_rooms = 500',
      'max_presence_per_connection = 4',
      'max_presence_per_room = 100',
      'max_presence_state_bytes = 4096',
      'max_queued_bytes = 8388608',
      'max_message_bytes = 8388608',
      'max_reassembly_bytes_per_connection = 8388608',
      'max_reassembly_bytes = 67108864',
      'partial_message_timeout_ms = 5000',
      'header_timeout_ms = 2000',
      'ping_interval_ms = 10000'
    ].join('\n'))
    expect(config.hub).toEqual({
      ...DEFAULT_CONFIG.hub,
      allowedOrigins: ['https://app.example', 'http://localhost:5173'],
      allowAnonymous: true,
      metricsTokenFile: '/run/secrets/metrics',
      authJwtSecretFile: '/run/secrets/jwt',
      authJwksUrl: 'https://auth.example/.well-known/jwks.json',
      authJwtIssuer: 'https://auth.example',
      authJwtAudience: 'aegis',
      maxConnections: 5000,
      maxConnectionsPerIp: 20,
      messagesPerSecond: 100,
      bytesPerSecond: 1048576,
      messagesPerSecondPerIp: 400,
      bytesPerSecondPerIp: 4194304,
      maxRoomsPerConnection: 10,
      maxOpenRooms: 500,
      maxPresencePerConnection: 4,
      maxPresencePerRoom: 100,
      maxPresenceStateBytes: 4096,
      maxQueuedBytes: 8388608,
      maxMessageBytes: 8388608,
      maxReassemblyBytesPerConnection: 8388608,
      maxReassemblyBytes: 67108864,
      partialMessageTimeoutMs: 5000,
      headerTimeoutMs: 2000,
      pingIntervalMs: 10000
    })
    expect(Object.isFrozen(config.hub.allowedOrigins)).toBe(true)
  })

  it('leaves the limits and auth unset by default (the hub applies its own defaults); allow_anonymous is false', () => {
    const hub = parseConfig('[hub]\nport = 1').hub
    expect(hub.allowAnonymous).toBe(false)
    expect(hub.maxConnections).toBeUndefined()
    expect(hub.allowedOrigins).toBeUndefined()
    expect(parseConfig('[hub]\nallowed_origins = ["*"]').hub.allowedOrigins).toEqual(['*'])
    expect(parseConfig('[hub]\nallowed_origins = []').hub.allowedOrigins).toEqual([])
  })

  it('rejects bad values, naming the key and what it allows', () => {
    const origins = 'an array of origins such as "https://app.example", or ["*"] for any'
    rejects(() => parseConfig('[hub]\nallowed_origins = "*"'), `line 2: hub.allowed_origins must be ${origins} (got "*")`)
    rejects(() => parseConfig('[hub]\nallowed_origins = ["https://a.example/path"]'), `line 2: hub.allowed_origins must be ${origins} (got ["https://a.example/path"])`)
    rejects(() => parseConfig('[hub]\nallowed_origins = [1]'), 'line 2: only arrays of strings are supported (hub.allowed_origins)')
    rejects(() => parseConfig('[hub]\nallowed_origins = ["a"'), 'line 2: expected "," or "]" in the array of hub.allowed_origins')
    rejects(() => parseConfig('[hub]\nallowed_origins = [\n"https://a"]'), 'line 2: the array of hub.allowed_origins must be on one line and end with "]"')
    rejects(() => parseConfig('[hub]\nmax_connections = 0'), 'line 2: hub.max_connections must be a positive integer (got 0)')
    rejects(() => parseConfig('[hub]\nallow_anonymous = "yes"'), 'line 2: hub.allow_anonymous must be true or false (got "yes")')
    rejects(() => parseConfig('[hub]\nauth_jwks_url = "ftp://x"'), 'line 2: hub.auth_jwks_url must be an http(s) URL (got "ftp://x")')
    rejects(() => resolveConfig({ hub: { allowedOrigins: ['https://a', 7] as never } }), `hub.allowedOrigins must be ${origins} (got an array)`)
    rejects(() => resolveConfig({ hub: { pingIntervalMs: 1.5 } }), 'hub.pingIntervalMs must be a positive integer (got 1.5)')
  })

  it('a misspelt key gets "did you mean"', () => {
    rejects(() => parseConfig('[hub]\nmax_conections = 5'), 'line 2: unknown key hub.max_conections (did you mean max_connections?)')
    rejects(() => parseConfig('[hub]\nallowed_origin = ["*"]'), 'line 2: unknown key hub.allowed_origin (did you mean allowed_origins?)')
    rejects(() => parseConfig('[raft]\nping_interval_ms = 5'), 'line 2: unknown key raft.ping_interval_ms (ping_interval_ms belongs under [hub])')
    rejects(() => resolveConfig({ hub: { maxConnection: 5 } as never }), 'unknown key hub.maxConnection (did you mean hub.maxConnections?)')
  })

  it('resolveConfig takes the same fields in camelCase', () => {
    expect(resolveConfig({ hub: { allowedOrigins: ['*'], maxOpenRooms: 7 } }).hub).toMatchObject({ allowedOrigins: ['*'], maxOpenRooms: 7, allowAnonymous: false })
  })
})

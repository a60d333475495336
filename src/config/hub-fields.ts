/**
 * The `[hub]` fields beyond where it listens and stores: who may connect
 * (origins, anonymous access, JWT auth, the metrics token) and its limits.
 * The limits have no default here: left out, the hub's own safe default
 * applies (`aegis-replication/hub`'s `HubLimits`).
 *
 * @module
 */
import { BOOLEAN, field, NON_EMPTY, POSITIVE, type Field, type Rule } from './rules.js'

/** `https://app.example`, `http://localhost:5173`: a scheme, `://` and a host, no path. */
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/\s?#]+$/i

const ORIGINS: Rule = {
  kind: 'array',
  allowed: 'an array of origins such as "https://app.example", or ["*"] for any',
  ok: v => Array.isArray(v) && v.every(o => typeof o === 'string' && (o === '*' || ORIGIN.test(o)))
}

const URL_RULE: Rule = {
  kind: 'string',
  allowed: 'an http(s) URL',
  ok: v => typeof v === 'string' && /^https?:\/\/[^/\s?#]+/i.test(v)
}

/** The limits, camelCase as in `HubLimits`; their TOML keys are the snake_case forms. */
export const HUB_LIMITS = [
  'maxConnections', 'maxConnectionsPerIp', 'messagesPerSecond', 'bytesPerSecond',
  'messagesPerSecondPerIp', 'bytesPerSecondPerIp', 'maxRoomsPerConnection', 'maxOpenRooms',
  'maxPresencePerConnection', 'maxPresencePerRoom', 'maxPresenceStateBytes', 'maxQueuedBytes',
  'maxMessageBytes', 'maxReassemblyBytesPerConnection', 'maxReassemblyBytes',
  'partialMessageTimeoutMs', 'headerTimeoutMs', 'pingIntervalMs'
] as const

const snake = (camel: string): string => camel.replace(/[A-Z]/g, c => `_${c.toLowerCase()}`)

/** The [hub] fields after port, host, data_dir and idle_ms. */
export const HUB_FIELDS: readonly Field[] = /* @__PURE__ */ (() => [
  field('hub', 'allowed_origins', 'allowedOrigins', ORIGINS),
  field('hub', 'allow_anonymous', 'allowAnonymous', BOOLEAN),
  field('hub', 'metrics_token_file', 'metricsTokenFile', NON_EMPTY),
  field('hub', 'auth_jwt_secret_file', 'authJwtSecretFile', NON_EMPTY),
  field('hub', 'auth_jwks_url', 'authJwksUrl', URL_RULE),
  field('hub', 'auth_jwt_issuer', 'authJwtIssuer', NON_EMPTY),
  field('hub', 'auth_jwt_audience', 'authJwtAudience', NON_EMPTY),
  ...HUB_LIMITS.map(l => field('hub', snake(l), l, POSITIVE))
])()

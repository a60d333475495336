/**
 * {@link createJwtAuth}: an `auth` hook for {@link createHub} that takes the
 * room and access from a JSON Web Token, verified by `jose` with a shared
 * secret (HS256) or the keys of a JWKS URL (RS256, ES256; key rotation and
 * caching by `jose.createRemoteJWKSet`). The claims are described in
 * `jwt-claims.ts` (`rooms`, or `room` + `access`; the KV is the room `@kv`).
 *
 * ```ts
 * import { createHub, createJwtAuth } from 'aegis-replication/hub'
 * const auth = createJwtAuth({ secret: process.env.JWT_SECRET, issuer: 'https://auth.example' })
 * const hub = await createHub({ host: '0.0.0.0', auth })
 * ```
 *
 * @module
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey, type CompactJWSHeaderParameters, type FlattenedJWSInput } from 'jose'
import { InvalidArgumentError } from 'aegis-replication'
import type { AuthDecision } from 'aegis-replication/sync'
import { accessFromClaims } from './jwt-claims.js'

/** Options of {@link createJwtAuth}: a `secret`, a `jwksUrl`, or both. */
export interface JwtAuthOptions {
  /** The HS256 secret shared with the token issuer: at least 32 bytes (a string is taken as UTF-8). */
  secret?: Uint8Array | string
  /** A JWKS URL (`https://auth.example/.well-known/jwks.json`) whose keys sign the tokens (RS256, ES256). */
  jwksUrl?: string
  /** The `iss` every token must carry. @default any */
  issuer?: string | string[]
  /** The `aud` every token must carry (one of). @default any */
  audience?: string | string[]
  /** Seconds of clock skew allowed when checking `exp` and `nbf`. @default 5 */
  clockToleranceSec?: number
  /**
   * The signature algorithms accepted; `none` never is.
   * @default ['HS256'] with `secret`, ['RS256', 'ES256'] with `jwksUrl`, all three with both
   */
  algorithms?: string[]
  /** Refuse tokens without `exp` (a token that never expires cannot be revoked by waiting). @default true */
  requireExp?: boolean
  /** Minimum time between two JWKS fetches caused by an unknown `kid`, in ms. @default 30000 */
  jwksCooldownMs?: number
  /** How long fetched JWKS keys are used before they are fetched again, in ms. @default 600000 */
  jwksCacheMaxAgeMs?: number
  /** Timeout of one JWKS fetch, in ms. @default 5000 */
  jwksTimeoutMs?: number
}

/** The `auth` hook: what `token` may do in `room`. */
export type JwtAuth = (token: string, room: string) => Promise<AuthDecision>

const HMAC = ['HS256', 'HS384', 'HS512']

/**
 * Errors of a token the client sent (bad signature, format, claims, key id):
 * `deny`. Other errors (the JWKS URL does not answer, answers garbage) are
 * thrown, so the hub logs them as `auth failed` and denies.
 */
const CLIENT_ERRORS = new Set([
  errors.JWTClaimValidationFailed.code, errors.JWTInvalid.code, errors.JWSInvalid.code,
  errors.JWSSignatureVerificationFailed.code, errors.JOSEAlgNotAllowed.code, errors.JOSENotSupported.code,
  errors.JWKSNoMatchingKey.code, errors.JWKSMultipleMatchingKeys.code, errors.JWKInvalid.code
])

const secretBytes = (secret: Uint8Array | string): Uint8Array => {
  const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('createJwtAuth: secret must be a string or a Uint8Array')
  if (bytes.length < 32) throw new InvalidArgumentError(`createJwtAuth: secret must be at least 32 bytes for HS256 (got ${bytes.length}); e.g. \`openssl rand -base64 48\``)
  return bytes
}

/**
 * An `auth` hook for {@link createHub} verifying JWTs: `'write'` or
 * `'read'` as the token's claims grant for the room, `'expired'` for a
 * correctly signed token past its `exp` (the client fetches a fresh token
 * and retries), `'deny'` for anything else (wrong key or algorithm,
 * malformed, `nbf` in the future, wrong `iss`/`aud`, no `exp`, room not granted).
 *
 * @throws {InvalidArgumentError} without `secret` and `jwksUrl`, with a
 * secret under 32 bytes, or a `jwksUrl` that is not an http(s) URL
 */
export const createJwtAuth = (options: JwtAuthOptions): JwtAuth => {
  const { secret, jwksUrl } = options
  if (secret === undefined && jwksUrl === undefined) throw new InvalidArgumentError('createJwtAuth needs a secret (HS256) or a jwksUrl (RS256/ES256)')
  const key = secret === undefined ? undefined : secretBytes(secret)
  let jwks: JWTVerifyGetKey | undefined
  if (jwksUrl !== undefined) {
    let url: URL
    try { url = new URL(jwksUrl) } catch { throw new InvalidArgumentError(`createJwtAuth: jwksUrl must be an http(s) URL (got ${JSON.stringify(jwksUrl)})`) }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InvalidArgumentError(`createJwtAuth: jwksUrl must be an http(s) URL (got ${JSON.stringify(jwksUrl)})`)
    jwks = createRemoteJWKSet(url, {
      cooldownDuration: options.jwksCooldownMs ?? 30_000,
      cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000,
      timeoutDuration: options.jwksTimeoutMs ?? 5_000
    })
  }
  const algorithms = options.algorithms ?? [...(key === undefined ? [] : ['HS256']), ...(jwks === undefined ? [] : ['RS256', 'ES256'])]
  if (algorithms.some(a => a.toLowerCase() === 'none')) throw new InvalidArgumentError('createJwtAuth: the algorithm "none" is never accepted')
  // HMAC algorithms use the secret, the others the JWKS: a token cannot pick its own key type
  const getKey = async (header: CompactJWSHeaderParameters, token: FlattenedJWSInput): Promise<Uint8Array | CryptoKey> => {
    if (HMAC.includes(header.alg)) {
      if (key === undefined) throw new errors.JOSEAlgNotAllowed(`"${header.alg}" needs a secret, and none is configured`)
      return key
    }
    if (jwks === undefined) throw new errors.JOSEAlgNotAllowed(`"${header.alg}" needs a JWKS, and none is configured`)
    return await jwks(header, token) as CryptoKey
  }
  const verifyOptions = {
    issuer: options.issuer,
    audience: options.audience,
    clockTolerance: options.clockToleranceSec ?? 5,
    algorithms,
    requiredClaims: options.requireExp === false ? [] : ['exp']
  }
  return async (token, room) => {
    let claims: Record<string, unknown>
    try {
      claims = (await jwtVerify(token, getKey, verifyOptions)).payload
    } catch (err) {
      if (err instanceof errors.JWTExpired) return 'expired'
      if (err instanceof errors.JOSEError && CLIENT_ERRORS.has(err.code)) return 'deny'
      if (err instanceof TypeError && typeof token !== 'string') return 'deny'
      throw err
    }
    return accessFromClaims(claims, room)
  }
}

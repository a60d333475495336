/**
 * Tokens that change: a room (or a KV request) may be given a function
 * that returns the current token, called before every join (and every KV
 * send), so that an app whose JWT expired while it was offline joins again
 * with a fresh one. Pure helpers for {@link SyncClient}.
 *
 * @module
 */
import { systemRandom, type Random } from '../components.js'
import { InvalidArgumentError } from '../errors.js'

/**
 * A token for the hub's `auth(token, room)`: a fixed string, or a function
 * returning the current one (sync or async), called on every (re)join.
 */
export type TokenSource = string | (() => string | Promise<string>)

/** Retry delays after a refused join, see {@link SyncClientOptions}. */
export interface TokenRetryOptions {
  /**
   * After `TokenExpired` (4401): the first retry's upper bound, doubled
   * per failed attempt (full jitter).
   * @default 1000
   */
  expiredRetryMinMs?: number
  /**
   * The cap of the delays after `TokenExpired`, or after the token
   * function failed.
   * @default 30000
   */
  expiredRetryMaxMs?: number
  /**
   * After `Denied` (4403), with a token function only (a fixed token is
   * denied for good): retry after a delay drawn from `[ms/2, ms)`.
   * @default 30000
   */
  deniedRetryMs?: number
  /**
   * Jitter of the retry delays.
   * @default systemRandom()
   */
  random?: Random
}

/** The settled retry options. */
export interface TokenRetry {
  expiredRetryMinMs: number
  expiredRetryMaxMs: number
  deniedRetryMs: number
  random: Random
}

/** Fills in the defaults of {@link TokenRetryOptions}. */
export const tokenRetry = (o: TokenRetryOptions = {}): TokenRetry => ({
  expiredRetryMinMs: o.expiredRetryMinMs ?? 1000,
  expiredRetryMaxMs: o.expiredRetryMaxMs ?? 30_000,
  deniedRetryMs: o.deniedRetryMs ?? 30_000,
  random: o.random ?? systemRandom()
})

/** Full jitter: a delay in `[0, min(max, min · 2^attempt))`. */
export const expiredDelay = (r: TokenRetry, attempt: number): number =>
  r.random.next() * Math.min(r.expiredRetryMaxMs, r.expiredRetryMinMs * 2 ** attempt)

/** A delay in `[deniedRetryMs / 2, deniedRetryMs)`. */
export const deniedDelay = (r: TokenRetry): number => r.deniedRetryMs * (0.5 + r.random.next() / 2)

/**
 * Calls `source` and hands the token to `ok` — synchronously when the
 * source is a string or a function that returns one — or the failure to
 * `failed` (a throw, a rejection, or something that is not a string).
 */
export const resolveToken = (source: TokenSource, ok: (token: string) => void, failed: (err: unknown) => void): void => {
  if (typeof source === 'string') { ok(source); return }
  const check = (token: unknown): void => {
    if (typeof token === 'string') ok(token)
    else failed(new InvalidArgumentError(`the token function returned ${typeof token}, not a string`))
  }
  let result: string | Promise<string>
  try {
    result = source()
  } catch (err) {
    failed(err)
    return
  }
  if (typeof result === 'string') { ok(result); return }
  Promise.resolve(result).then(check, failed)
}

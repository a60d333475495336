/**
 * Reconnect delays: exponential backoff with full jitter (a uniform delay in
 * `[0, min(max, min · 2^attempt))`), so that clients a hub restart dropped
 * do not all come back at the same moment.
 *
 * @module
 */
import type { Random } from 'aegis-replication'

/**
 * The delay before reconnect attempt `attempt` (0 for the first retry).
 * The result lies in `[0, min(maxMs, minMs · 2^attempt))`.
 */
export const backoffDelay = (attempt: number, minMs: number, maxMs: number, random: Random): number =>
  random.next() * Math.min(maxMs, minMs * 2 ** attempt)

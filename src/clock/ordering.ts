/**
 * How two version vectors (or the events they stand for) relate.
 *
 * @module
 */

/**
 * The causal relation of `a` to `b` as returned by `a.compare(b)`:
 * `Before` (a happened before b), `After`, `Equal`, or `Concurrent`
 * (neither saw the other).
 */
export const Ordering = {
  Before: 'before',
  After: 'after',
  Equal: 'equal',
  Concurrent: 'concurrent'
} as const

/** One of the {@link Ordering} values. */
export type Ordering = typeof Ordering[keyof typeof Ordering]

/**
 * Canonical copies of stored values: CRDTs keep their own copy of every
 * value written locally, with object keys sorted and `-0` turned into `0`,
 * so two replicas holding "the same" value (by {@link canonicalKey}) hold
 * identical JavaScript values, and later mutation by the caller cannot
 * reach into the replica's state.
 *
 * @module
 */
import { type JsonValue, assertValue } from '../codec/value.js'

const copy = (v: JsonValue): JsonValue => {
  if (typeof v === 'number') return Object.is(v, -0) ? 0 : v
  if (v === null || typeof v !== 'object') return v
  if (v instanceof Uint8Array) return v.slice()
  if (Array.isArray(v)) return v.map(copy)
  const o: { [key: string]: JsonValue } = {}
  for (const k of Object.keys(v).sort()) {
    // defineProperty: a key named __proto__ must stay an own data property
    Object.defineProperty(o, k, { value: copy(v[k]), enumerable: true, writable: true, configurable: true })
  }
  return o
}

/**
 * Checks that `v` is storable ({@link InvalidArgumentError} otherwise) and
 * returns a canonical deep copy of it.
 */
export const canonicalValue = <T extends JsonValue>(v: T): T => copy(assertValue(v)) as T

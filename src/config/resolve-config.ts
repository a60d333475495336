/**
 * {@link resolveConfig}: a partial config object → a complete, checked one.
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'
import type { ReplicationConfig, ReplicationConfigInput } from './config.js'
import { buildConfig, FIELDS, SECTIONS, showValue, type Field, type Namer } from './schema.js'
import { closest } from './suggest.js'

const propName = (f: Field): string => f.section === 'replication' ? f.prop : `${f.section}.${f.prop}`

/** The names allowed at the top level, or inside `section`. */
const allowedIn = (section: string | undefined): string[] => section === undefined
  ? [...FIELDS.filter(f => f.section === 'replication').map(f => f.prop), ...SECTIONS.filter(s => s !== 'replication')]
  : FIELDS.filter(f => f.section === section).map(f => f.prop)

const unknownKey = (section: string | undefined, key: string): InvalidArgumentError => {
  const name = section === undefined ? key : `${section}.${key}`
  const allowed = allowedIn(section)
  const near = closest(key, allowed)
  const anywhere = near === undefined ? closest(key, FIELDS.map(f => f.prop)) : undefined
  const elsewhere = FIELDS.find(f => f.prop === anywhere)
  const hint = near !== undefined
    ? ` (did you mean ${section === undefined ? near : `${section}.${near}`}?)`
    : elsewhere !== undefined
      ? ` (did you mean ${propName(elsewhere)}?)`
      : `; ${section === undefined ? 'a config' : section} takes ${allowed.join(', ')}`
  return new InvalidArgumentError(`unknown key ${name}${hint}`)
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** Errors name the fields as the object does: `raft.electionTimeoutMin`. */
const objectNamer = (input: ReplicationConfigInput): Namer => ({
  name: propName,
  short: f => f.prop,
  where: () => '',
  show: (_f, v) => showValue(v),
  isSet: f => {
    const section = f.section === 'replication' ? input : (input as Record<string, unknown>)[f.section]
    return isRecord(section) && section[f.prop] !== undefined
  }
})

/**
 * Fills in the defaults ({@link DEFAULT_CONFIG}) for every field `input`
 * leaves out or `undefined`, and checks the result: counts and times are
 * positive integers, `heartbeatInterval < electionTimeoutMin <
 * electionTimeoutMax`, `hub.port` is 0–65535, enums hold one of their
 * values, and there are no unknown keys (a typo does not pass silently).
 *
 * @throws {InvalidArgumentError} naming the field, what it got and what it allows
 *
 * ```ts
 * resolveConfig({ raft: { electionTimeoutMin: 300, electionTimeoutMax: 600 } }).raft.heartbeatInterval // 50
 * ```
 */
export const resolveConfig = (input: ReplicationConfigInput = {}): ReplicationConfig => {
  if (!isRecord(input)) throw new InvalidArgumentError(`resolveConfig expects an object (got ${showValue(input)})`)
  for (const [key, value] of Object.entries(input)) {
    if (!allowedIn(undefined).includes(key)) throw unknownKey(undefined, key)
    if (!SECTIONS.includes(key as never) || value === undefined) continue
    if (!isRecord(value)) throw new InvalidArgumentError(`${key} must be an object (got ${showValue(value)})`)
    for (const inner of Object.keys(value)) {
      if (!allowedIn(key).includes(inner)) throw unknownKey(key, inner)
    }
  }
  return buildConfig(input, objectNamer(input))
}

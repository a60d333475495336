/**
 * The building blocks of the config schema: a {@link Field} (section, TOML
 * and object names) and the {@link Rule} its value must follow.
 *
 * @module
 */

/** The sections of a config file; `replication` fields sit at the top level of the object. */
export type SectionName = 'replication' | 'raft' | 'sharding' | 'hub'
export const SECTIONS: readonly SectionName[] = ['replication', 'raft', 'sharding', 'hub']

/** What a field allows: its TOML type, and `allowed` in words for errors. */
export interface Rule {
  readonly kind: 'integer' | 'string' | 'boolean' | 'array'
  readonly allowed: string
  readonly ok: (v: unknown) => boolean
}

export const int = (min: number, max: number, allowed: string): Rule =>
  ({ kind: 'integer', allowed, ok: v => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max })
export const oneOf = (values: readonly string[]): Rule =>
  ({ kind: 'string', allowed: `one of ${values.join(', ')}`, ok: v => typeof v === 'string' && values.includes(v) })
export const POSITIVE = /* @__PURE__ */ int(1, Number.MAX_SAFE_INTEGER, 'a positive integer')
export const NON_EMPTY: Rule = { kind: 'string', allowed: 'a non-empty string', ok: v => typeof v === 'string' && v !== '' }
export const BOOLEAN: Rule = { kind: 'boolean', allowed: 'true or false', ok: v => typeof v === 'boolean' }

export interface Field {
  readonly section: SectionName
  /** snake_case, as in the TOML file */
  readonly key: string
  /** camelCase, as in {@link ReplicationConfig} */
  readonly prop: string
  readonly rule: Rule
}

export const field = (section: SectionName, key: string, prop: string, rule: Rule): Field => ({ section, key, prop, rule })

/**
 * The shape of one `aegis-hub` flag in the table of `cli-flags.ts`, and
 * the name of its environment variable.
 *
 * @module
 */

/** How a flag's text becomes a value. */
export type FlagKind = 'string' | 'integer' | 'boolean' | 'list'

/** One flag. */
export interface FlagSpec {
  /** kebab-case, without `--` */
  readonly name: string
  readonly kind: FlagKind
  /** The section of `--help` it is listed in. */
  readonly group: 'Listen and store' | 'Access' | 'Raft' | 'Limits' | 'Other'
  readonly help: string
  /** The value's name in `--help` (`N`, `FILE`). */
  readonly arg?: string
  /** `AEGIS_HUB_<NAME>` unless `null` (flags that only make sense on the command line). */
  readonly env?: string | null
  /** An environment variable holding the secret itself, for a `…-file` flag (never a flag: argv is visible to every user). */
  readonly secretEnv?: string
  /** The `[hub]` property (camelCase) the config file sets it with. */
  readonly config?: string
  /** Smallest integer allowed. @default 0 */
  readonly min?: number
  /** Largest integer allowed. @default Number.MAX_SAFE_INTEGER */
  readonly max?: number
  /** The default, as `--help` shows it. */
  readonly shown?: string
  /** A one-letter alias (`-h`). @default none */
  readonly short?: string
}

/** `max-connections` → `AEGIS_HUB_MAX_CONNECTIONS` */
export const envName = (flag: string): string => `AEGIS_HUB_${flag.toUpperCase().replace(/-/g, '_')}`

/** The environment variable of `spec`, or undefined. */
export const envOf = (spec: FlagSpec): string | undefined => spec.env === null ? undefined : spec.env ?? envName(spec.name)

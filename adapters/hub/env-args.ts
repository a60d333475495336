/**
 * `aegis-hub`'s command line and `AEGIS_HUB_*` environment → typed flag
 * values, a flag winning over its environment variable. Errors name the
 * flag (or variable) and what it allows; an `AEGIS_HUB_*` variable that is
 * no flag's is a warning naming the closest flag.
 *
 * @module
 */
import { parseArgs } from 'node:util'
import { InvalidArgumentError } from 'aegis-replication'
import { closest } from 'aegis-replication/config'
import { envOf, FLAGS, type FlagSpec } from './cli-flags.js'

/** A flag's value once read. */
export type FlagValue = string | number | boolean | string[]

/** Flag values by name, each with where it came from (`--port` or `AEGIS_HUB_PORT`). */
export interface ParsedFlags {
  readonly values: ReadonlyMap<string, FlagValue>
  readonly source: ReadonlyMap<string, string>
  /** Warnings to log: `{ msg, …fields }`. */
  readonly warnings: ReadonlyArray<{ msg: string, fields: Record<string, unknown> }>
}

const PREFIX = 'AEGIS_HUB_'
const TRUE = ['1', 'true', 'yes', 'on']
const FALSE = ['0', 'false', 'no', 'off', '']

/** `text` as `spec`'s kind; `name` is how errors call it. */
export const convert = (spec: FlagSpec, text: string, name: string): FlagValue => {
  switch (spec.kind) {
    case 'integer': {
      const min = spec.min ?? 0
      const max = spec.max ?? Number.MAX_SAFE_INTEGER
      const n = text.trim() === '' ? NaN : Number(text)
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`
      if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number ${range}, got ${JSON.stringify(text)}`)
      return n
    }
    case 'boolean': {
      const t = text.trim().toLowerCase()
      if (TRUE.includes(t)) return true
      if (FALSE.includes(t)) return false
      throw new InvalidArgumentError(`${name} must be true or false (1/0, yes/no, on/off), got ${JSON.stringify(text)}`)
    }
    case 'list':
      return text.split(',').map(s => s.trim()).filter(s => s !== '')
    case 'string':
      if (text === '') throw new InvalidArgumentError(`${name} must not be empty`)
      return text
  }
}

/** parseArgs' errors, told with the flag names and a "did you mean". */
const argvError = (err: unknown, flags: readonly FlagSpec[]): Error => {
  const e = err as { code?: string, message?: string }
  const message = e.message ?? String(err)
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /Unknown option '([^']*)'/.exec(message)?.[1] ?? '?'
    const secretFlag = flags.find(f => f.secretEnv !== undefined && f.name === `${option.replace(/^-+/, '')}-file`)
    if (secretFlag !== undefined) {
      return new InvalidArgumentError(`${option} does not exist: secrets are not taken on the command line (every user can read it); use --${secretFlag.name} FILE or ${secretFlag.secretEnv}`)
    }
    const bare = option.replace(/^-+/, '')
    const extending = flags.filter(f => bare.length >= 3 && f.name.startsWith(bare))
    const near = extending.length === 1 ? extending[0].name : closest(bare, flags.map(f => f.name))
    return new InvalidArgumentError(`unknown flag ${option}${near === undefined ? '' : ` (did you mean --${near}?)`}; see aegis-hub --help`)
  }
  if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    return new InvalidArgumentError(`${message.replace(/\.$/, '')}: aegis-hub takes only flags; see aegis-hub --help`)
  }
  return new InvalidArgumentError(message)
}

/**
 * Reads `argv` (without node and the script) and `env` against `flags`.
 *
 * @throws {InvalidArgumentError} an unknown flag, a missing value, a value
 * its flag does not allow
 */
export const parseFlags = (argv: readonly string[], env: Readonly<Record<string, string | undefined>>, flags: readonly FlagSpec[] = FLAGS): ParsedFlags => {
  const options: Record<string, { type: 'string' | 'boolean', short?: string }> = {}
  for (const f of flags) options[f.name] = { type: f.kind === 'boolean' ? 'boolean' : 'string', ...(f.short === undefined ? {} : { short: f.short }) }
  let parsed: Record<string, string | boolean | undefined>
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>
  } catch (err) {
    throw argvError(err, flags)
  }
  const values = new Map<string, FlagValue>()
  const source = new Map<string, string>()
  for (const f of flags) {
    const fromArgv = parsed[f.name]
    const envVar = envOf(f)
    const fromEnv = envVar === undefined ? undefined : env[envVar]
    if (fromArgv !== undefined) {
      values.set(f.name, typeof fromArgv === 'boolean' ? fromArgv : convert(f, fromArgv, `--${f.name}`))
      source.set(f.name, `--${f.name}`)
    } else if (fromEnv !== undefined && envVar !== undefined) {
      values.set(f.name, convert(f, fromEnv, envVar))
      source.set(f.name, envVar)
    }
  }
  // every known variable, by its name after AEGIS_HUB_, with how a warning points at it
  const known = new Map<string, string>()
  for (const f of flags) {
    const e = envOf(f)
    if (e !== undefined) known.set(e, `--${f.name} (${e})`)
    if (f.secretEnv !== undefined) known.set(f.secretEnv, `${f.secretEnv} (the secret itself, or --${f.name} FILE)`)
  }
  const suffixes = [...known.keys()].map(e => e.slice(PREFIX.length))
  const warnings: Array<{ msg: string, fields: Record<string, unknown> }> = []
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(PREFIX) || known.has(name)) continue
    const near = closest(name.slice(PREFIX.length), suffixes)
    warnings.push({
      msg: 'unknown environment variable ignored',
      fields: { variable: name, ...(near === undefined ? { hint: 'no aegis-hub flag is close; see aegis-hub --help' } : { didYouMean: known.get(PREFIX + near) }) }
    })
  }
  return { values, source, warnings }
}

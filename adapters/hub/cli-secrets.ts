/**
 * Secrets for `aegis-hub` (the JWT secret, the metrics token): from a file
 * named by a flag, an environment variable or the config file, or from an
 * environment variable holding the secret itself; never from argv, which
 * every user of the machine can read in the process list.
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { InvalidArgumentError } from 'aegis-replication'
import { envOf, type FlagSpec } from './cli-flags.js'

/** A secret and where it came from, for messages (`--auth-jwt-secret-file /run/secrets/jwt`). */
export interface Secret { readonly value: string, readonly source: string }

/** The file's text without its trailing newline; an empty or unreadable file is an error naming `source`. */
const readSecretFile = async (file: string, source: string): Promise<Secret> => {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new InvalidArgumentError(`${source}: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`)
  }
  const value = text.replace(/[\r\n]+$/, '')
  if (value === '') throw new InvalidArgumentError(`${source}: ${file} is empty`)
  return { value, source: `${source} ${file}` }
}

/**
 * The secret of `spec` (a `…-file` flag with a `secretEnv`): the flag's
 * file, else its environment variables (the file's, or the secret's own;
 * not both), else the config file's key.
 */
export const readSecret = async (
  spec: FlagSpec,
  fromFlags: { value: string | undefined, source: string | undefined },
  env: Readonly<Record<string, string | undefined>>,
  fromConfig: string | undefined
): Promise<Secret | undefined> => {
  const fileEnv = envOf(spec)
  const direct = spec.secretEnv === undefined ? undefined : env[spec.secretEnv]
  if (fromFlags.source === `--${spec.name}` && fromFlags.value !== undefined) return await readSecretFile(fromFlags.value, fromFlags.source)
  if (fromFlags.value !== undefined && direct !== undefined) {
    throw new InvalidArgumentError(`both ${fileEnv} and ${spec.secretEnv} are set: set one (the file, or the secret itself)`)
  }
  if (fromFlags.value !== undefined) return await readSecretFile(fromFlags.value, fromFlags.source ?? `--${spec.name}`)
  if (direct !== undefined) {
    if (direct === '') throw new InvalidArgumentError(`${spec.secretEnv} is set but empty`)
    return { value: direct, source: spec.secretEnv! }
  }
  if (fromConfig !== undefined) return await readSecretFile(fromConfig, `[hub] ${spec.name.replace(/-/g, '_')}`)
  return undefined
}

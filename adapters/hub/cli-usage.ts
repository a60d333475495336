/**
 * `aegis-hub --help`, generated from the flag table.
 *
 * @module
 */
import { envOf, FLAGS, type FlagSpec } from './cli-flags.js'

const GROUPS: ReadonlyArray<FlagSpec['group']> = ['Listen and store', 'Access', 'Raft', 'Limits', 'Other']

/** `--help`: every flag by group, with its environment variable, config key and default. */
export const usage = (): string => {
  const lines = [
    'aegis-hub: the aegis-replication hub (WebSocket relay + durable rooms)',
    '',
    'usage: aegis-hub [--port 4444] [--host 127.0.0.1] [--data ./.aegis-data] [--idle-ms 30000] [--config replication.toml]',
    '                 [--auth-jwt-secret-file FILE | --auth-jwks-url URL | --allow-anonymous] [--allowed-origins LIST]',
    '                 [--id n1 [--peers n2=ws://host:port,n3=ws://host:port] [--cluster-token SECRET]]',
    '',
    'Each flag may also be set by its environment variable (AEGIS_HUB_…; booleans take 1/0, true/false, yes/no)',
    'or by its [hub] key in the --config file: a flag wins over the environment, the environment over the file.'
  ]
  for (const group of GROUPS) {
    lines.push('', `${group}:`)
    for (const f of FLAGS.filter(f => f.group === group)) {
      lines.push(`  ${f.short === undefined ? '' : `-${f.short}, `}--${f.name}${f.arg === undefined ? '' : ` ${f.arg}`}`)
      lines.push(`      ${f.help}`)
      const env = envOf(f)
      const where = [
        env === undefined ? undefined : `env ${env}${f.secretEnv === undefined ? '' : ` or ${f.secretEnv}`}`,
        f.config === undefined ? undefined : `[hub] ${f.config.replace(/[A-Z]/g, c => `_${c.toLowerCase()}`)}`,
        f.shown === undefined ? undefined : `default ${f.shown}`
      ].filter(s => s !== undefined)
      if (where.length > 0) lines.push(`      (${where.join('; ')})`)
    }
  }
  lines.push('', 'GET /healthz answers {"status":"ok"}; GET /metrics the counters.', '')
  return lines.join('\n')
}

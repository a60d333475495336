/**
 * `aegis-hub`: runs a hub from the command line until SIGINT/SIGTERM, then
 * shuts down gracefully (every acknowledged update is already on disk; the
 * rest is flushed). Every flag is declared once in `cli-flags.ts`, with its
 * `AEGIS_HUB_*` variable and `[hub]` key: a flag wins over the environment,
 * the environment over the config file, the file over the defaults.
 *
 * @module
 */
import { InvalidArgumentError, type Logger } from 'aegis-replication'
import { DEFAULT_CONFIG, type HubConfig } from 'aegis-replication/config'
import { createHub, type Hub, type HubOptions } from './create-hub.js'
import { FLAGS, type FlagSpec } from './cli-flags.js'
import { usage } from './cli-usage.js'
import { LIMIT_FIELDS } from './cli-limit-flags.js'
import { readSecret } from './cli-secrets.js'
import { isLoopbackHost, origins, parsePeers, readConfig } from './cli-values.js'
import { parseFlags, type FlagValue } from './env-args.js'
import { createJwtAuth } from './jwt-auth.js'
import type { HubLimits } from './limits.js'
import { jsonLineLogger } from './log.js'
import { packageVersion } from './version.js'
import { MEMBERS_USAGE, runMembersCli } from './members-cli.js'

/** Options of {@link runHubCli} beyond argv. */
export interface HubCliOptions {
  /** Where `AEGIS_HUB_*` variables are read. @default process.env */
  env?: Readonly<Record<string, string | undefined>>
  /** What `--version` prints. @default the version in the package's package.json */
  version?: string
  /** The hub's log and the CLI's warnings. @default jsonLineLogger('info') */
  logger?: Logger
}

/** Parses `argv` (without node and the script), starts the hub; resolves with it, or undefined after --help or --version. */
export const runHubCli = async (argv: string[], out: (line: string) => void = (l) => process.stdout.write(l), cli: HubCliOptions = {}): Promise<Hub | undefined> => {
  const env = cli.env ?? process.env
  if (argv[0] === 'members') { await runMembersCli(argv.slice(1), out); return undefined }
  const { values, source, warnings } = parseFlags(argv, env)
  if (values.get('help') === true) { out(usage() + '\n' + MEMBERS_USAGE); return undefined }
  if (values.get('version') === true) { out(`${cli.version ?? packageVersion()}\n`); return undefined }
  const logger = cli.logger ?? jsonLineLogger('info')
  for (const w of warnings) logger.warn(w.msg, w.fields)

  const configFile = values.get('config') as string | undefined
  const config = configFile === undefined ? DEFAULT_CONFIG : await readConfig(configFile)
  const spec = (name: string): FlagSpec => FLAGS.find(f => f.name === name)!
  const fromConfig = (name: string): unknown => {
    const key = spec(name).config
    return key === undefined ? undefined : config.hub[key as keyof HubConfig]
  }
  /** The flag's value from argv or env, else its [hub] key. */
  const get = <T extends FlagValue | readonly string[]>(name: string): T | undefined =>
    (values.get(name) ?? fromConfig(name)) as T | undefined
  /** How errors name where a value came from. */
  const from = (name: string): string => source.get(name) ?? `[hub] ${spec(name).config?.replace(/[A-Z]/g, c => `_${c.toLowerCase()}`) ?? name}`
  const secret = async (name: string): Promise<{ value: string, source: string } | undefined> =>
    await readSecret(spec(name), { value: values.get(name) as string | undefined, source: source.get(name) }, env, fromConfig(name) as string | undefined)

  const id = get<string>('id')
  if (get('peers') !== undefined && id === undefined) throw new InvalidArgumentError('--peers needs --id: the id of this hub in the group')
  if (get('join') !== undefined && id === undefined) throw new InvalidArgumentError('--join needs --id: the id of this hub in the group')
  const clusterSecret = await secret('cluster-secret-file')
  const host = get<string>('host') ?? DEFAULT_CONFIG.hub.host

  // who may connect
  const jwtSecret = await secret('auth-jwt-secret-file')
  const jwksUrl = get<string>('auth-jwks-url')
  const issuer = get<string>('auth-jwt-issuer')
  const audience = get<string>('auth-jwt-audience')
  let auth: HubOptions['auth']
  if (jwtSecret !== undefined || jwksUrl !== undefined) {
    try {
      auth = createJwtAuth({ secret: jwtSecret?.value, jwksUrl, issuer, audience })
    } catch (err) {
      const where = err instanceof Error && /secret/.test(err.message) ? jwtSecret?.source : from('auth-jwks-url')
      throw new InvalidArgumentError(`${where ?? 'auth'}: ${err instanceof Error ? err.message.replace(/^createJwtAuth: /, '') : String(err)}`)
    }
  } else if (issuer !== undefined || audience !== undefined) {
    throw new InvalidArgumentError(`${from(issuer !== undefined ? 'auth-jwt-issuer' : 'auth-jwt-audience')} needs --auth-jwt-secret-file or --auth-jwks-url: it checks the JWTs they verify`)
  }
  const allowAnonymous = get<boolean>('allow-anonymous') === true
  if (auth === undefined && !isLoopbackHost(host) && !allowAnonymous) {
    throw new InvalidArgumentError(`aegis-hub would listen on ${host}, which is not a loopback address, with no auth: anyone who reaches it could read and write every room. ` +
      'Give --auth-jwt-secret-file FILE (or AEGIS_HUB_AUTH_JWT_SECRET), or --auth-jwks-url URL; or --allow-anonymous to run it open on purpose')
  }
  if (auth === undefined && !isLoopbackHost(host)) logger.warn('no auth: every client may read and write every room (--allow-anonymous)', { host })
  const originList = get<readonly string[]>('allowed-origins')
  const metricsToken = await secret('metrics-token-file')

  const limits: HubLimits = {}
  for (const [field, flag] of LIMIT_FIELDS) {
    const v = get<number>(flag)
    if (v !== undefined) limits[field] = v
  }

  const snapshotEvery = get<number>('snapshot-every')
  const hub = await createHub({
    id,
    peers: get('peers') === undefined ? undefined : parsePeers(get<string>('peers')!),
    clusterSecret: clusterSecret?.value,
    clusterToken: get<string>('cluster-token'),
    join: get<string>('join'),
    raft: {
      electionTimeout: { min: config.raft.electionTimeoutMin, max: config.raft.electionTimeoutMax },
      heartbeatInterval: config.raft.heartbeatInterval,
      ...(snapshotEvery === undefined ? {} : { snapshotThreshold: Math.max(1, snapshotEvery) })
    },
    port: get<number>('port') ?? DEFAULT_CONFIG.hub.port,
    host,
    dataDir: get<string>('data') ?? DEFAULT_CONFIG.hub.dataDir,
    idleMs: get<number>('idle-ms') ?? DEFAULT_CONFIG.hub.idleMs,
    fsync: get('no-fsync') !== true,
    auth,
    allowAnonymous,
    trustProxy: get('trust-proxy') === true,
    ...(originList === undefined ? {} : { allowedOrigins: origins(originList, from('allowed-origins')) }),
    ...(metricsToken === undefined ? {} : { metricsToken: metricsToken.value }),
    limits,
    logger
  })
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    logger.info('shutting down', { signal })
    hub.close().then(() => process.exit(0), (err) => { logger.error('shutdown failed', { error: String(err) }); process.exit(1) })
  }
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))
  return hub
}

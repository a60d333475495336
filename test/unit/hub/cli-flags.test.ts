/**
 * `aegis-hub`'s flags, `AEGIS_HUB_*` variables and `[hub]` keys, seen
 * through the options `runHubCli` hands to `createHub` (mocked here): the
 * precedence flag > env > config file > default, secrets from files or env,
 * protected mode, errors that name the flag, warnings for unknown variables,
 * `--version` and `--help`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { SignJWT } from 'jose'
import type { Logger } from 'aegis-replication'
import { runHubCli, type HubOptions } from 'aegis-replication/hub'
import { FLAGS, envOf } from '../../../adapters/hub/cli-flags.js'

const created: HubOptions[] = []
vi.mock('../../../adapters/hub/create-hub.js', () => ({
  createHub: async (options: HubOptions) => {
    created.push(options)
    return { port: options.port ?? 4444, url: 'ws://fake', metrics: () => ({}), close: async () => {} }
  }
}))

const SECRET = 'cli-test-secret-of-at-least-32-bytes!!'
const dirs: string[] = []
let signalListeners: Map<NodeJS.Signals, Function[]>
beforeEach(() => {
  created.length = 0
  signalListeners = new Map((['SIGINT', 'SIGTERM'] as const).map(s => [s, process.listeners(s)]))
})
afterEach(async () => {
  for (const [signal, before] of signalListeners) {
    for (const l of process.listeners(signal)) if (!before.includes(l)) process.removeListener(signal, l as NodeJS.SignalsListener)
  }
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

const file = async (name: string, text: string): Promise<string> => {
  const d = await mkdtemp(join(tmpdir(), 'aegis-cli-'))
  dirs.push(d)
  await writeFile(join(d, name), text)
  return join(d, name)
}

const recorder = (): { logger: Logger, warnings: Array<[string, Record<string, unknown> | undefined]> } => {
  const warnings: Array<[string, Record<string, unknown> | undefined]> = []
  const nop = (): void => {}
  return { warnings, logger: { debug: nop, info: nop, error: nop, warn: (msg, fields) => { warnings.push([msg, fields]) } } }
}

/** Runs the CLI with `argv` and `env`; resolves with the options createHub got. */
const run = async (argv: string[], env: Record<string, string> = {}, logger = recorder().logger): Promise<HubOptions> => {
  await runHubCli(argv, () => {}, { env, logger })
  expect(created).toHaveLength(1)
  return created.pop()!
}

const token = async (rooms: Record<string, string>, secret = SECRET): Promise<string> =>
  await new SignJWT({ rooms }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('10m').sign(new TextEncoder().encode(secret))

describe('aegis-hub flags', () => {
  it('every limit, origins and the basics reach createHub', async () => {
    const o = await run(['--port', '0', '--max-connections', '5', '--ping-interval-ms', '1000', '--max-reassembly-bytes-per-connection', '4096',
      '--allowed-origins', 'https://a.example, http://localhost:5173', '--no-fsync', '--idle-ms', '0'])
    expect(o).toMatchObject({ port: 0, host: '127.0.0.1', idleMs: 0, fsync: false, allowAnonymous: false, allowedOrigins: ['https://a.example', 'http://localhost:5173'] })
    expect(o.limits).toEqual({ maxConnections: 5, pingIntervalMs: 1000, maxReassemblyBytesPerConnection: 4096 })
    expect(o.auth).toBeUndefined()
    expect((await run(['--allowed-origins', '*'])).allowedOrigins).toBe('*')
  })

  it('a flag wins over its variable, the variable over the config file, the file over the default', async () => {
    const config = await file('hub.toml', '[hub]\nmax_connections = 1\nallowed_origins = ["https://file.example"]\nport = 1111\n')
    const env = { AEGIS_HUB_MAX_CONNECTIONS: '2', AEGIS_HUB_CONFIG: config }
    expect((await run(['--max-connections', '3'], env)).limits?.maxConnections).toBe(3)
    expect((await run([], env)).limits?.maxConnections).toBe(2)
    const fromFile = await run(['--config', config])
    expect(fromFile.limits?.maxConnections).toBe(1)
    expect(fromFile.allowedOrigins).toEqual(['https://file.example'])
    expect(fromFile.port).toBe(1111)
    expect((await run(['--config', config], { AEGIS_HUB_PORT: '2222' })).port).toBe(2222)
    expect((await run([])).limits?.maxConnections).toBeUndefined()
  })

  it('the JWT secret from a file (flag, variable or config key) or from AEGIS_HUB_AUTH_JWT_SECRET makes a working auth hook', async () => {
    const secretFile = await file('jwt', `${SECRET}\n`)
    const write = await token({ board: 'write' })
    for (const [argv, env] of [
      [['--auth-jwt-secret-file', secretFile], {}],
      [[], { AEGIS_HUB_AUTH_JWT_SECRET_FILE: secretFile }],
      [[], { AEGIS_HUB_AUTH_JWT_SECRET: SECRET }],
      [['--config', await file('c.toml', `[hub]\nauth_jwt_secret_file = '${secretFile}'\n`)], {}]
    ] as Array<[string[], Record<string, string>]>) {
      const { auth } = await run(argv, env)
      expect(auth, JSON.stringify({ argv, env })).toBeDefined()
      expect(await auth!(write, 'board')).toBe('write')
      expect(await auth!(write, 'other')).toBe('deny')
      expect(await auth!(await token({ board: 'write' }, 'x'.repeat(40)), 'board')).toBe('deny')
    }
    // the flag's file wins over the variable
    const other = await file('jwt2', 'y'.repeat(40))
    const { auth } = await run(['--auth-jwt-secret-file', other], { AEGIS_HUB_AUTH_JWT_SECRET: SECRET })
    expect(await auth!(write, 'board')).toBe('deny')
  })

  it('issuer and audience are checked when given', async () => {
    const { auth } = await run(['--auth-jwt-issuer', 'https://iss.example'], { AEGIS_HUB_AUTH_JWT_SECRET: SECRET })
    expect(await auth!(await token({ a: 'write' }), 'a')).toBe('deny')
    const withIss = await new SignJWT({ rooms: { a: 'read' } }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://iss.example').setExpirationTime('1m').sign(new TextEncoder().encode(SECRET))
    expect(await auth!(withIss, 'a')).toBe('read')
  })

  it('the metrics token from a file or AEGIS_HUB_METRICS_TOKEN', async () => {
    expect((await run(['--metrics-token-file', await file('m', 'tok-1\r\n')])).metricsToken).toBe('tok-1')
    expect((await run([], { AEGIS_HUB_METRICS_TOKEN: 'tok-2' })).metricsToken).toBe('tok-2')
    expect((await run([])).metricsToken).toBeUndefined()
  })

  it('refuses a non-loopback host without auth unless --allow-anonymous (or its variable) is given', async () => {
    await expect(runHubCli(['--host', '0.0.0.0'], () => {}, { env: {}, logger: recorder().logger })).rejects.toThrow(
      /listen on 0\.0\.0\.0, which is not a loopback address, with no auth.*--auth-jwt-secret-file FILE.*--allow-anonymous/)
    expect(created).toHaveLength(0)
    const { logger, warnings } = recorder()
    expect((await run(['--host', '0.0.0.0', '--allow-anonymous'], {}, logger)).allowAnonymous).toBe(true)
    expect(warnings.map(w => w[0])).toContain('no auth: every client may read and write every room (--allow-anonymous)')
    expect((await run(['--host', '::'], { AEGIS_HUB_ALLOW_ANONYMOUS: 'yes' })).allowAnonymous).toBe(true)
    expect((await run(['--host', '0.0.0.0'], { AEGIS_HUB_AUTH_JWT_SECRET: SECRET })).auth).toBeDefined()
    for (const host of ['localhost', '127.0.0.1', '127.1.2.3', '::1']) expect((await run(['--host', host])).host).toBe(host)
  })
})

describe('aegis-hub errors name the flag and what it allows', () => {
  const rejects = async (argv: string[], env: Record<string, string>, message: string | RegExp): Promise<void> => {
    await expect(runHubCli(argv, () => {}, { env, logger: recorder().logger })).rejects.toThrow(message)
    expect(created).toHaveLength(0)
  }

  it('bad values, from a flag or a variable', async () => {
    await rejects(['--max-connections', '0'], {}, '--max-connections must be a whole number ≥ 1, got "0"')
    await rejects(['--ping-interval-ms', '1.5'], {}, '--ping-interval-ms must be a whole number ≥ 1, got "1.5"')
    await rejects([], { AEGIS_HUB_PORT: 'http' }, 'AEGIS_HUB_PORT must be a whole number from 0 to 65535, got "http"')
    await rejects([], { AEGIS_HUB_ALLOW_ANONYMOUS: 'maybe' }, 'AEGIS_HUB_ALLOW_ANONYMOUS must be true or false (1/0, yes/no, on/off), got "maybe"')
    await rejects(['--allowed-origins', 'https://a.example/app'], {}, '--allowed-origins takes origins such as https://app.example (scheme://host[:port], no path) separated by commas, or *; "https://a.example/app" is not one')
    await rejects(['--host', ''], {}, '--host must not be empty')
  })

  it('unknown flags get "did you mean"; a missing value is named', async () => {
    await rejects(['--max-conections', '5'], {}, 'unknown flag --max-conections (did you mean --max-connections?); see aegis-hub --help')
    await rejects(['--auth-jwt-secret', 'x'], {}, '--auth-jwt-secret does not exist: secrets are not taken on the command line (every user can read it); use --auth-jwt-secret-file FILE or AEGIS_HUB_AUTH_JWT_SECRET')
    await rejects(['--metrics-token=x'], {}, /use --metrics-token-file FILE or AEGIS_HUB_METRICS_TOKEN/)
    await rejects(['--allow-anon'], {}, 'unknown flag --allow-anon (did you mean --allow-anonymous?)')
    await rejects(['--port'], {}, /--port/)
    await rejects(['serve'], {}, /aegis-hub takes only flags/)
  })

  it('secrets: unreadable or empty files, both variables, a short secret, issuer without a key', async () => {
    const missing = join(tmpdir(), 'aegis-no-such-secret')
    await rejects(['--auth-jwt-secret-file', missing], {}, `--auth-jwt-secret-file: cannot read ${missing}: ENOENT`)
    const empty = await file('empty', '\n')
    await rejects([], { AEGIS_HUB_METRICS_TOKEN_FILE: empty }, `AEGIS_HUB_METRICS_TOKEN_FILE: ${empty} is empty`)
    await rejects([], { AEGIS_HUB_AUTH_JWT_SECRET_FILE: empty, AEGIS_HUB_AUTH_JWT_SECRET: SECRET },
      'both AEGIS_HUB_AUTH_JWT_SECRET_FILE and AEGIS_HUB_AUTH_JWT_SECRET are set: set one (the file, or the secret itself)')
    const short = await file('short', 'hunter2')
    await rejects(['--auth-jwt-secret-file', short], {}, `--auth-jwt-secret-file ${short}: secret must be at least 32 bytes for HS256 (got 7)`)
    await rejects(['--auth-jwt-audience', 'aegis'], {}, '--auth-jwt-audience needs --auth-jwt-secret-file or --auth-jwks-url')
    await rejects(['--auth-jwks-url', 'ftp://keys'], {}, '--auth-jwks-url: jwksUrl must be an http(s) URL (got "ftp://keys")')
  })
})

describe('aegis-hub environment, --version and --help', () => {
  it('an AEGIS_HUB_ variable that is no flag\'s is a warning naming the closest flag', async () => {
    const { logger, warnings } = recorder()
    await run([], { AEGIS_HUB_MAX_CONECTIONS: '5', AEGIS_HUB_AUTH_JWT_SECRT: 'x', AEGIS_HUB_BANANA: '1', OTHER_VAR: '1' }, logger)
    expect(warnings).toEqual([
      ['unknown environment variable ignored', { variable: 'AEGIS_HUB_AUTH_JWT_SECRT', didYouMean: 'AEGIS_HUB_AUTH_JWT_SECRET (the secret itself, or --auth-jwt-secret-file FILE)' }],
      ['unknown environment variable ignored', { variable: 'AEGIS_HUB_BANANA', hint: 'no aegis-hub flag is close; see aegis-hub --help' }],
      ['unknown environment variable ignored', { variable: 'AEGIS_HUB_MAX_CONECTIONS', didYouMean: '--max-connections (AEGIS_HUB_MAX_CONNECTIONS)' }]
    ])
  })

  it('--version prints the version in package.json and starts nothing', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
    let text = ''
    expect(await runHubCli(['--version'], (s) => { text += s }, { env: {} })).toBeUndefined()
    expect(text).toBe(`${version}\n`)
    text = ''
    await runHubCli(['--version'], (s) => { text += s }, { env: {}, version: '9.9.9' })
    expect(text).toBe('9.9.9\n')
    expect(created).toHaveLength(0)
  })

  it('--help lists every flag with its variable', async () => {
    let text = ''
    expect(await runHubCli(['-h'], (s) => { text += s }, { env: {} })).toBeUndefined()
    for (const f of FLAGS) {
      expect(text).toContain(`--${f.name}`)
      const env = envOf(f)
      if (env !== undefined) expect(text).toContain(env)
    }
    expect(text).toContain('AEGIS_HUB_AUTH_JWT_SECRET ')
    expect(text).toContain('[hub] max_connections_per_ip')
  })
})

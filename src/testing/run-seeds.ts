/**
 * Runs a randomized test body once per seed, and makes any failure
 * replayable: the error names the seed and carries a command that reruns
 * just that seed.
 *
 * ```ts
 * import { it } from 'vitest'
 * import { runSeeds } from 'aegis-replication/testing'
 * it('converges', () => runSeeds(50, (seed, prng) => {
 *   // build a seeded scenario from `prng`, assert the property
 * }, { env: process.env }))
 * // on failure: "seed 17 failed: …" and
 * // "replay: AEGIS_SEED=17 npx vitest run test/simulation/x.sim.test.ts"
 * ```
 *
 * Environment (read from `options.env`; the core never touches `process`):
 * - `AEGIS_SEED=N` runs only seed N (to replay a failure);
 * - `AEGIS_SEEDS=K` runs K seeds instead of the count in the code (to search
 *   harder in CI).
 *
 * @module
 */
import { consoleLogger, type Logger } from '../components.js'
import { InvalidArgumentError } from '../errors.js'
import { Prng } from './prng.js'

/** Options of {@link forEachSeed}. */
export interface SeedOptions {
  /**
   * How many seeds to run; `AEGIS_SEEDS` overrides it.
   * @default 10
   */
  count?: number
  /**
   * The first seed; the others follow consecutively.
   * @default 1
   */
  baseSeed?: number
  /**
   * Environment variables to read `AEGIS_SEED` and `AEGIS_SEEDS` from
   * (tests pass `process.env`).
   * @default {}
   */
  env?: Record<string, string | undefined>
  /**
   * Where the failing seed and its replay line are reported.
   * @default consoleLogger()
   */
  logger?: Pick<Logger, 'error'>
  /**
   * The test file named in the replay line.
   * @default the first `test/…*.test.ts` path found in the caller's stack
   */
  file?: string
  /**
   * A test name for the replay line's `-t` filter.
   * @default none
   */
  name?: string
}

/** A test body: `prng` is `new Prng(seed)`, ready to use. */
export type SeededTest<R> = (seed: number, prng: Prng) => R

/** Seeds {@link forEachSeed} runs when none are configured. */
export const DEFAULT_SEED_COUNT = 10

const parseEnvInt = (env: Record<string, string | undefined>, key: string, min: number): number | undefined => {
  const raw = env[key]
  if (raw === undefined || raw.trim() === '') return undefined
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${key} must be an integer >= ${min}, got ${JSON.stringify(raw)}`)
  return n
}

/** The seeds {@link forEachSeed} would run with `options`, in order. */
export const resolveSeeds = (options: SeedOptions = {}): number[] => {
  const env = options.env ?? {}
  const only = parseEnvInt(env, 'AEGIS_SEED', Number.MIN_SAFE_INTEGER)
  if (only !== undefined) return [only]
  const count = parseEnvInt(env, 'AEGIS_SEEDS', 0) ?? options.count ?? DEFAULT_SEED_COUNT
  const base = options.baseSeed ?? 1
  if (!Number.isSafeInteger(count) || count < 0) throw new InvalidArgumentError(`count must be an integer >= 0, got ${count}`)
  if (!Number.isSafeInteger(base) || !Number.isSafeInteger(base + count)) throw new InvalidArgumentError(`baseSeed must be a safe integer, got ${base}`)
  return Array.from({ length: count }, (_, i) => base + i)
}

const TEST_FILE = /(?:^|[\s(/\\])((?:tests?)[/\\][^\s:()]*?\.(?:test|spec)\.[cm]?[jt]sx?)\b/

/** The first test file path in the current stack, relative from its `test/` folder. */
const guessTestFile = (stack: string | undefined): string | undefined => {
  if (stack === undefined) return undefined
  for (const line of stack.split('\n')) {
    const m = TEST_FILE.exec(line)
    if (m !== null) return m[1].replaceAll('\\', '/')
  }
  return undefined
}

/** The command that reruns one seed. */
export const replayCommand = (seed: number, file?: string, name?: string): string =>
  `AEGIS_SEED=${seed} npx vitest run` + (file !== undefined ? ` ${file}` : '') + (name !== undefined ? ` -t ${JSON.stringify(name)}` : '')

const isPromiseLike = (x: unknown): x is PromiseLike<unknown> =>
  x !== null && (typeof x === 'object' || typeof x === 'function') && typeof (x as { then?: unknown }).then === 'function'

/**
 * Runs `test` once per seed (see {@link resolveSeeds}), stopping at the
 * first failure, which is logged and rethrown as an `Error` whose message
 * names the seed and holds the replay line; the original error is its
 * `cause`. Returns a promise only if `test` does.
 */
export function forEachSeed (options: SeedOptions, test: SeededTest<Promise<void>>): Promise<void>
export function forEachSeed (options: SeedOptions, test: SeededTest<void>): void
export function forEachSeed (options: SeedOptions, test: SeededTest<void | Promise<void>>): void | Promise<void> {
  const seeds = resolveSeeds(options)
  const file = options.file ?? guessTestFile(new Error('stack probe').stack)
  const logger = options.logger ?? consoleLogger('error')
  const fail = (seed: number, err: unknown): never => {
    const replay = `replay: ${replayCommand(seed, file, options.name)}`
    const reason = err instanceof Error ? err.message : String(err)
    const message = `seed ${seed} failed: ${reason}\n${replay}`
    logger.error(message, { seed, replay })
    throw Object.assign(new Error(message, { cause: err }), { seed })
  }
  const runRest = async (from: number, pending: PromiseLike<unknown>): Promise<void> => {
    try { await pending } catch (err) { fail(seeds[from], err) }
    for (let i = from + 1; i < seeds.length; i++) {
      try { await test(seeds[i], new Prng(seeds[i])) } catch (err) { fail(seeds[i], err) }
    }
  }
  for (let i = 0; i < seeds.length; i++) {
    let result: unknown
    try { result = test(seeds[i], new Prng(seeds[i])) } catch (err) { fail(seeds[i], err) }
    if (isPromiseLike(result)) return runRest(i, result)
  }
}

/** {@link forEachSeed} over `count` seeds. */
export function runSeeds (count: number, test: SeededTest<Promise<void>>, options?: Omit<SeedOptions, 'count'>): Promise<void>
export function runSeeds (count: number, test: SeededTest<void>, options?: Omit<SeedOptions, 'count'>): void
export function runSeeds (count: number, test: SeededTest<void | Promise<void>>, options: Omit<SeedOptions, 'count'> = {}): void | Promise<void> {
  return forEachSeed({ ...options, count }, test as SeededTest<void>)
}

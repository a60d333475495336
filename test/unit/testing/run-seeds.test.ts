import { describe, expect, it } from 'vitest'
import { forEachSeed, replayCommand, resolveSeeds, runSeeds } from '../../../src/testing/run-seeds.js'
import { Prng } from '../../../src/testing/prng.js'
import { InvalidArgumentError } from '../../../src/errors.js'

const recorder = () => {
  const lines: Array<{ msg: string, fields?: Record<string, unknown> }> = []
  return { lines, logger: { error: (msg: string, fields?: Record<string, unknown>) => { lines.push({ msg, fields }) } } }
}

const THIS_FILE = 'test/unit/testing/run-seeds.test.ts'

describe('resolveSeeds', () => {
  it('defaults to 10 consecutive seeds from 1', () => {
    expect(resolveSeeds()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(resolveSeeds({ count: 3, baseSeed: 100 })).toEqual([100, 101, 102])
    expect(resolveSeeds({ count: 0 })).toEqual([])
  })

  it('AEGIS_SEEDS overrides the count, AEGIS_SEED replays one seed', () => {
    expect(resolveSeeds({ count: 3, env: { AEGIS_SEEDS: '5' } })).toEqual([1, 2, 3, 4, 5])
    expect(resolveSeeds({ count: 3, baseSeed: 9, env: { AEGIS_SEED: '1234', AEGIS_SEEDS: '5' } })).toEqual([1234])
    expect(resolveSeeds({ count: 2, env: { AEGIS_SEED: '', AEGIS_SEEDS: undefined } })).toEqual([1, 2])
  })

  it('rejects malformed values', () => {
    expect(() => resolveSeeds({ env: { AEGIS_SEED: 'abc' } })).toThrow(InvalidArgumentError)
    expect(() => resolveSeeds({ env: { AEGIS_SEEDS: '-1' } })).toThrow(InvalidArgumentError)
    expect(() => resolveSeeds({ env: { AEGIS_SEEDS: '2.5' } })).toThrow(/AEGIS_SEEDS/)
    expect(() => resolveSeeds({ count: -1 })).toThrow(InvalidArgumentError)
  })
})

describe('forEachSeed / runSeeds', () => {
  it('runs the body once per seed with a Prng seeded by it', () => {
    const seen: Array<[number, number]> = []
    const result = runSeeds(4, (seed, prng) => { seen.push([seed, prng.uint32()]) }, { baseSeed: 7 })
    expect(result).toBeUndefined()
    expect(seen).toEqual([7, 8, 9, 10].map((s) => [s, new Prng(s).uint32()]))
  })

  it('rethrows the first failure with its seed and a replay line, and logs the same', () => {
    const { lines, logger } = recorder()
    const original = new Error('diverged')
    const ran: number[] = []
    let thrown: unknown
    try {
      runSeeds(10, (seed) => {
        ran.push(seed)
        if (seed === 3) throw original
      }, { logger })
    } catch (err) {
      thrown = err
    }
    expect(ran).toEqual([1, 2, 3])
    expect(thrown).toBeInstanceOf(Error)
    const err = thrown as Error & { seed: number }
    expect(err.message).toContain('seed 3')
    expect(err.message).toContain('diverged')
    expect(err.message).toContain(`replay: AEGIS_SEED=3 npx vitest run ${THIS_FILE}`)
    expect(err.cause).toBe(original)
    expect(err.seed).toBe(3)
    expect(lines).toHaveLength(1)
    expect(lines[0].msg).toBe(err.message)
    expect(lines[0].fields).toEqual({ seed: 3, replay: `replay: AEGIS_SEED=3 npx vitest run ${THIS_FILE}` })
  })

  it('replays exactly the failing seed from AEGIS_SEED', () => {
    const { logger } = recorder()
    const ran: number[] = []
    expect(() => forEachSeed({ count: 50, env: { AEGIS_SEED: '42' }, logger }, (seed) => {
      ran.push(seed)
      throw new Error('boom')
    })).toThrow(/seed 42 failed: boom/)
    expect(ran).toEqual([42])
  })

  it('handles async bodies and rejects with the seed', async () => {
    const { lines, logger } = recorder()
    const ran: number[] = []
    const ok = runSeeds(3, async (seed) => { await Promise.resolve(); ran.push(seed) }, { logger })
    expect(ok).toBeInstanceOf(Promise)
    await ok
    expect(ran).toEqual([1, 2, 3])

    const failing = runSeeds(5, async (seed) => {
      await Promise.resolve()
      if (seed === 4) throw new RangeError('late')
    }, { logger, file: 'test/x.sim.test.ts', name: 'converges' })
    await expect(failing).rejects.toThrow('seed 4 failed: late\nreplay: AEGIS_SEED=4 npx vitest run test/x.sim.test.ts -t "converges"')
    await failing.catch((err: Error) => { expect(err.cause).toBeInstanceOf(RangeError) })
    expect(lines).toHaveLength(1)
  })

  it('reports non-Error throws too', () => {
    const { logger } = recorder()
    expect(() => runSeeds(1, () => { throw 'plain string' as unknown as Error }, { logger, file: 'f.test.ts' }))
      .toThrow('seed 1 failed: plain string\nreplay: AEGIS_SEED=1 npx vitest run f.test.ts')
  })

  it('builds replay commands', () => {
    expect(replayCommand(5)).toBe('AEGIS_SEED=5 npx vitest run')
    expect(replayCommand(5, 'test/a.test.ts', 'a b')).toBe('AEGIS_SEED=5 npx vitest run test/a.test.ts -t "a b"')
  })
})

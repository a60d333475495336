import { afterEach, describe, expect, it, vi } from 'vitest'
import { consoleLogger, silentLogger, systemClock, systemRandom, type Components } from '../../../src/components.js'
import { VirtualClock } from '../../../src/transport/virtual-clock.js'
import { Prng } from '../../../src/testing/prng.js'

afterEach(() => { vi.restoreAllMocks() })

describe('components', () => {
  it('systemClock reads the host clock and runs host timers', async () => {
    const clock = systemClock()
    const before = Date.now()
    const now = clock.now()
    expect(now).toBeGreaterThanOrEqual(before)
    const fired: string[] = []
    const cancelled = clock.setTimeout(() => { fired.push('cancelled') }, 0)
    clock.clearTimeout(cancelled)
    await new Promise<void>((resolve) => { clock.setTimeout(() => { fired.push('kept'); resolve() }, 1) })
    expect(fired).toEqual(['kept'])
  })

  it('systemRandom yields numbers in [0, 1) that vary', () => {
    const random = systemRandom()
    const xs = Array.from({ length: 200 }, () => random.next())
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true)
    expect(new Set(xs).size).toBeGreaterThan(190)
  })

  it('silentLogger drops everything; consoleLogger filters by level', () => {
    expect(() => { silentLogger.error('x', { a: 1 }) }).not.toThrow()
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => {})
    const logger = consoleLogger('info')
    logger.warn('careful', { seed: 3 })
    logger.warn('plain')
    logger.debug('hidden')
    expect(warn.mock.calls).toEqual([['careful', { seed: 3 }], ['plain']])
    expect(debug).not.toHaveBeenCalled()
  })

  it('the simulator provides every component', () => {
    const components: Components = { clock: new VirtualClock(), random: new Prng(1), logger: silentLogger }
    expect(components.clock.now()).toBe(0)
  })
})

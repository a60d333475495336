/**
 * The shared acceptance suite of `RaftStorage` implementations, in the
 * style of automerge-repo's `runStorageAdapterTests(setup)`: one vitest test
 * per scenario of `raft-storage-scenarios.ts` (which a browser page runs
 * too), plus seeded random runs against the contract's model.
 *
 * ```ts
 * runRaftStorageTests('FileRaftStorage', async () => {
 *   const dir = await mkdtemp(join(tmpdir(), 'raft-'))
 *   return { open: () => FileRaftStorage.open(dir), close: s => s.close(), teardown: () => rm(dir, { recursive: true }) }
 * })
 * ```
 */
import { describe, it } from 'vitest'
import type { RaftStorage } from '../../src/raft/index.js'
import { randomRun, scenarios, type RaftStorageFixture, type RaftStorageTraits } from './raft-storage-scenarios.js'

/** A fresh place for one test's storage, and how to remove it afterwards. */
export type RaftStorageSetup<S extends RaftStorage = RaftStorage> = () => Promise<{
  open: () => Promise<S>
  close: (storage: S) => Promise<void>
  teardown?: () => Promise<void>
}>

/** Options of {@link runRaftStorageTests}. */
export interface RaftStorageSuiteOptions extends RaftStorageTraits {
  /** Seeds of the random runs (`RAFT_STORAGE_SEEDS=n` runs n seeds from 1). @default [1, 2, 3] */
  seeds?: number[]
  /** Calls per random run. @default 150 */
  steps?: number
}

const envSeeds = (): number[] | undefined => {
  const n = Number(process.env.RAFT_STORAGE_SEEDS)
  return Number.isSafeInteger(n) && n > 0 ? Array.from({ length: n }, (_, i) => i + 1) : undefined
}

/** Defines the suite for the storage `setup` makes. */
export const runRaftStorageTests = <S extends RaftStorage>(name: string, setup: RaftStorageSetup<S>, options: RaftStorageSuiteOptions = {}): void => {
  const traits: Required<RaftStorageTraits> = { durable: true, clampsCommit: true, strict: true, ...options }
  const withFixture = async (body: (f: RaftStorageFixture) => Promise<void>): Promise<void> => {
    const { open, close, teardown } = await setup()
    const opened = new Set<S>()
    const fixture: RaftStorageFixture = {
      open: async () => { const s = await open(); opened.add(s); return s },
      close: async (s) => { opened.delete(s as S); await close(s as S) }
    }
    try {
      await body(fixture)
    } finally {
      for (const s of opened) await close(s).catch(() => {})
      await teardown?.()
    }
  }

  describe(`RaftStorage acceptance: ${name}`, () => {
    for (const scenario of scenarios) {
      // a scenario about a promise this storage does not make is not defined for it (not skipped)
      if (!(scenario.needs ?? []).every(t => traits[t])) continue
      it(scenario.name, async () => { await withFixture(scenario.run) })
    }
    for (const seed of envSeeds() ?? options.seeds ?? [1, 2, 3]) {
      it(`random calls match the contract's model (seed ${seed})`, async () => {
        await withFixture(async f => { await randomRun(f, traits, seed, options.steps ?? 150) })
      })
    }
  })
}

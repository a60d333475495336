/**
 * The acceptance scenarios of a `RaftStorage`, written once for every
 * storage and every runtime: plain async functions with their own small
 * assertions (no vitest, no Node built-ins, type-only imports), so the same
 * module runs under vitest (`raft-storage-suite.ts`) and bundled into a
 * Chromium page (`test/browser/raft-storage.browser.test.ts`).
 */
import type { Entry, HardState, RaftPersistedState, RaftStorage, Snapshot } from '../../src/raft/index.js'

/** Where one scenario's storage lives: `open` opens it (empty the first time), `close` closes it; opening again reopens the same data. */
export interface RaftStorageFixture {
  open: () => Promise<RaftStorage>
  close: (storage: RaftStorage) => Promise<void>
}

/** What a storage does beyond the contract's minimum, so the reference `MemoryRaftStorage` can run the suite too. */
export interface RaftStorageTraits {
  /** Data outlives `close` + `open` (false: only the same object is kept). @default true */
  durable?: boolean
  /** `load()` clamps `commit` to the last stored index. @default true */
  clampsCommit?: boolean
  /** Calls on a closed storage reject with `StorageError`; misuse (an older snapshot) is refused. @default true */
  strict?: boolean
}

/** One scenario: `run` throws (an `Error` saying what differed) if the storage fails it. */
export interface RaftStorageScenario {
  name: string
  /** Runs only for storages with all of these traits. */
  needs?: Array<keyof RaftStorageTraits>
  run: (fixture: RaftStorageFixture) => Promise<void>
}

// ------------------------------------------------------------------ helpers

/** A JSON-able view of a value: bytes as `bytes:<hex>`, undefined as `"undefined"`. */
const plain = (v: unknown): unknown => {
  if (v instanceof Uint8Array) return 'bytes:' + Array.from(v, b => b.toString(16).padStart(2, '0')).join('')
  if (v === undefined) return 'undefined'
  if (Array.isArray(v)) return v.map(plain)
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map(k => [k, plain((v as Record<string, unknown>)[k])]))
  return v
}

const show = (v: unknown): string => {
  const s = JSON.stringify(plain(v))
  return s.length > 400 ? s.slice(0, 400) + '…' : s
}

/** Throws unless `actual` and `expected` are deeply equal (bytes compared by content). */
export const assertEqual = (actual: unknown, expected: unknown, what: string): void => {
  const a = JSON.stringify(plain(actual))
  const e = JSON.stringify(plain(expected))
  if (a !== e) throw new Error(`${what}:\n  expected ${show(expected)}\n  got      ${show(actual)}`)
}

/** Throws unless `p` rejects; returns the rejection. */
export const assertRejects = async (p: Promise<unknown>, what: string): Promise<Error> => {
  try {
    await p
  } catch (err) {
    return err as Error
  }
  throw new Error(`${what}: expected a rejection, but it resolved`)
}

/** Entry `index` of term `term`; its data tells both apart. */
export const entry = (index: number, term: number, size = index % 7): Entry => ({
  term,
  index,
  type: index % 11 === 0 ? 'conf-change' : index % 13 === 0 ? 'noop' : 'normal',
  data: Uint8Array.from({ length: size }, (_, i) => (index * 31 + term * 7 + i) & 0xff)
})

/** Entries `from..to`, all of term `term`. */
export const entries = (from: number, to: number, term: number): Entry[] =>
  Array.from({ length: to - from + 1 }, (_, k) => entry(from + k, term))

/** A snapshot at `index`, `term`, with a configuration and data that name them. */
export const snapshot = (index: number, term: number): Snapshot => ({
  index,
  term,
  conf: { voters: ['n1', 'n2', 'n3'], learners: index % 2 === 0 ? ['n4'] : [] },
  data: new TextEncoder().encode(`state at ${index}/${term}`)
})

const INITIAL: HardState = { term: 0, vote: null, commit: 0 }

/** Loads and compares with what is expected. */
const expectState = async (s: RaftStorage, expected: RaftPersistedState, what: string): Promise<void> => {
  assertEqual(await s.load(), expected, what)
}

/** Closes and opens again (the same object for a non-durable storage). */
const reopen = async (f: RaftStorageFixture, s: RaftStorage): Promise<RaftStorage> => {
  await f.close(s)
  return await f.open()
}

/** A small deterministic PRNG (mulberry32), so a random scenario can be rerun with its seed. */
export const prng = (seed: number): { int: (min: number, max: number) => number } => {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { int: (min, max) => min + Math.floor(next() * (max - min + 1)) }
}

/**
 * The contract as a model: what `load()` must return after the same calls
 * (the semantics of `MemoryRaftStorage`, with `commit` clamped).
 */
export class RaftStorageModel {
  hardState: HardState = { ...INITIAL }
  snapshot: Snapshot | undefined
  entries: Entry[] = []

  lastIndex (): number { return (this.snapshot?.index ?? 0) + this.entries.length }
  termAt (index: number): number | undefined {
    if (this.snapshot !== undefined && index === this.snapshot.index) return this.snapshot.term
    return this.entries[index - (this.snapshot?.index ?? 0) - 1]?.term
  }

  append (es: Entry[]): void { this.entries.push(...es) }
  truncateSuffix (from: number): void {
    this.entries.length = Math.max(0, Math.min(this.entries.length, from - (this.snapshot?.index ?? 0) - 1))
  }

  saveSnapshot (s: Snapshot): void {
    const first = (this.snapshot?.index ?? 0) + 1
    this.entries = this.termAt(s.index) === s.term ? this.entries.slice(Math.max(0, s.index - first + 1)) : []
    this.snapshot = s
  }

  state (clampCommit: boolean): RaftPersistedState {
    const hardState = { ...this.hardState }
    if (clampCommit) hardState.commit = Math.min(hardState.commit, this.lastIndex())
    return { hardState, snapshot: this.snapshot, entries: [...this.entries] }
  }
}

// ------------------------------------------------------------------ persistence across a restart

/** What `load()` must give after {@link writeRestartState}. */
export const restartState = (): RaftPersistedState => ({
  hardState: { term: 3, vote: 'n2', commit: 27 },
  snapshot: snapshot(10, 1),
  entries: [...entries(11, 15, 1), ...entries(16, 24, 2), ...entries(25, 30, 3)]
})

/** Writes a state worth restarting from (entries, a truncation, a snapshot, a hard state); returns what `load()` must give. */
export const writeRestartState = async (s: RaftStorage): Promise<RaftPersistedState> => {
  await s.append(entries(1, 20, 1))
  await s.saveHardState({ term: 2, vote: 'n1', commit: 12 })
  await s.truncateSuffix(16)
  await s.append(entries(16, 24, 2))
  await s.saveSnapshot(snapshot(10, 1))
  await s.append(entries(25, 30, 3))
  await s.saveHardState({ term: 3, vote: 'n2', commit: 27 })
  const expected = restartState()
  await expectState(s, expected, 'before the restart')
  return expected
}

/** Checks a storage reopened after {@link writeRestartState}, then that it accepts more writes. */
export const verifyRestartState = async (s: RaftStorage, expected: RaftPersistedState): Promise<void> => {
  await expectState(s, expected, 'after the restart')
  await assertRejects(s.append([entry(30, 3)]), 'append at an index already stored after the restart')
  await s.append([entry(31, 4)])
  assertEqual((await s.load()).entries.at(-1), entry(31, 4), 'append after the restart')
}

// ------------------------------------------------------------------ scenarios

export const scenarios: RaftStorageScenario[] = [
  {
    name: 'a new storage loads the initial state',
    run: async f => {
      const s = await f.open()
      await expectState(s, { hardState: INITIAL, snapshot: undefined, entries: [] }, 'fresh storage')
      await f.close(s)
    }
  },
  {
    name: 'appended entries load back in order, with their types and bytes',
    run: async f => {
      const s = await f.open()
      const big = { ...entry(4, 1), data: Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7) & 0xff) }
      const all = [...entries(1, 3, 1), big, ...entries(5, 30, 2), { term: 2, index: 31, type: 'noop' as const, data: new Uint8Array(0) }]
      await s.append(all.slice(0, 3))
      await s.append(all.slice(3, 4))
      await s.append([])
      await s.append(all.slice(4))
      await expectState(s, { hardState: INITIAL, snapshot: undefined, entries: all }, 'after appends')
      await f.close(s)
    }
  },
  {
    name: 'append must follow the last entry; a refused append changes nothing and the storage stays usable',
    run: async f => {
      const s = await f.open()
      await s.append(entries(1, 3, 1))
      await assertRejects(s.append([entry(5, 1)]), 'append leaving a gap')
      await assertRejects(s.append([entry(3, 1)]), 'append over a stored index')
      await assertRejects(s.append([entry(1, 1)]), 'append from the start again')
      await expectState(s, { hardState: INITIAL, snapshot: undefined, entries: entries(1, 3, 1) }, 'after refused appends')
      await s.append(entries(4, 5, 1))
      await expectState(s, { hardState: INITIAL, snapshot: undefined, entries: entries(1, 5, 1) }, 'after a good append')
      await f.close(s)
    }
  },
  {
    name: 'truncateSuffix drops the suffix and appends continue after it',
    run: async f => {
      const s = await f.open()
      await s.append(entries(1, 10, 1))
      await s.truncateSuffix(6)
      await expectState(s, { hardState: INITIAL, snapshot: undefined, entries: entries(1, 5, 1) }, 'after truncateSuffix(6)')
      await s.truncateSuffix(9) // past the end: nothing to do
      await assertRejects(s.append([entry(7, 2)]), 'append past the truncated end')
      await s.append(entries(6, 8, 2))
      await expectState(s, { hardState: INITIAL, snapshot: undefined, entries: [...entries(1, 5, 1), ...entries(6, 8, 2)] }, 'after overwriting')
      await s.truncateSuffix(1)
      await expectState(s, { hardState: INITIAL, snapshot: undefined, entries: [] }, 'after truncateSuffix(1)')
      await s.append(entries(1, 2, 3))
      await expectState(s, { hardState: INITIAL, snapshot: undefined, entries: entries(1, 2, 3) }, 'after appending again from 1')
      await f.close(s)
    }
  },
  {
    name: 'the hard state is replaced by each save',
    run: async f => {
      const s = await f.open()
      await s.append(entries(1, 9, 1))
      await s.saveHardState({ term: 1, vote: 'n1', commit: 0 })
      assertEqual((await s.load()).hardState, { term: 1, vote: 'n1', commit: 0 }, 'first hard state')
      for (let i = 2; i < 10; i++) await s.saveHardState({ term: i, vote: i % 3 === 0 ? null : `node-${i}`, commit: i })
      assertEqual((await s.load()).hardState, { term: 9, vote: null, commit: 9 }, 'last hard state')
      await s.saveHardState({ term: 9, vote: 'ünïcødé ✓', commit: 9 })
      assertEqual((await s.load()).hardState, { term: 9, vote: 'ünïcødé ✓', commit: 9 }, 'a vote with non-ASCII characters')
      await f.close(s)
    }
  },
  {
    name: 'a snapshot whose term matches the stored entry keeps the later entries',
    run: async f => {
      const s = await f.open()
      await s.append([...entries(1, 4, 1), ...entries(5, 10, 2)])
      await s.saveSnapshot(snapshot(6, 2))
      await expectState(s, { hardState: INITIAL, snapshot: snapshot(6, 2), entries: entries(7, 10, 2) }, 'after the snapshot')
      await assertRejects(s.append([entry(6, 2)]), 'append inside the snapshot')
      await s.append([entry(11, 3)])
      await expectState(s, { hardState: INITIAL, snapshot: snapshot(6, 2), entries: [...entries(7, 10, 2), entry(11, 3)] }, 'after appending')
      await f.close(s)
    }
  },
  {
    name: 'a snapshot at the last entry keeps nothing and the log continues after it',
    run: async f => {
      const s = await f.open()
      await s.append(entries(1, 8, 1))
      await s.saveSnapshot(snapshot(8, 1))
      await expectState(s, { hardState: INITIAL, snapshot: snapshot(8, 1), entries: [] }, 'after the snapshot')
      await s.append([entry(9, 1)])
      await expectState(s, { hardState: INITIAL, snapshot: snapshot(8, 1), entries: [entry(9, 1)] }, 'after appending')
      await f.close(s)
    }
  },
  {
    name: 'a snapshot whose term does not match the stored entry drops the whole log',
    run: async f => {
      const s = await f.open()
      await s.append(entries(1, 10, 1))
      await s.saveSnapshot(snapshot(6, 3))
      await expectState(s, { hardState: INITIAL, snapshot: snapshot(6, 3), entries: [] }, 'after the snapshot')
      await assertRejects(s.append([entry(11, 3)]), 'append after the dropped entries')
      await s.append(entries(7, 8, 3))
      await expectState(s, { hardState: INITIAL, snapshot: snapshot(6, 3), entries: entries(7, 8, 3) }, 'after appending after the snapshot')
      await f.close(s)
    }
  },
  {
    name: 'a snapshot past the last entry drops the log, which continues after the snapshot',
    run: async f => {
      const s = await f.open()
      await s.append(entries(1, 3, 1))
      await s.saveSnapshot(snapshot(40, 2))
      await expectState(s, { hardState: INITIAL, snapshot: snapshot(40, 2), entries: [] }, 'after the snapshot')
      await assertRejects(s.append([entry(4, 1)]), 'append after the old end')
      await s.append(entries(41, 43, 2))
      await expectState(s, { hardState: INITIAL, snapshot: snapshot(40, 2), entries: entries(41, 43, 2) }, 'after appending')
      // on an empty storage too (a follower's first contact is a snapshot)
      const t = await reopen(f, s)
      await t.truncateSuffix(41)
      await t.saveSnapshot(snapshot(100, 5))
      await expectState(t, { hardState: INITIAL, snapshot: snapshot(100, 5), entries: [] }, 'a second snapshot past the end')
      await f.close(t)
    }
  },
  {
    name: 'snapshots follow each other; truncation stops at the snapshot',
    run: async f => {
      const s = await f.open()
      await s.append(entries(1, 12, 1))
      await s.saveSnapshot(snapshot(5, 1))
      await s.saveSnapshot(snapshot(9, 1))
      await expectState(s, { hardState: INITIAL, snapshot: snapshot(9, 1), entries: entries(10, 12, 1) }, 'after two snapshots')
      await s.truncateSuffix(3) // below the snapshot: every entry goes, the snapshot stays
      await expectState(s, { hardState: INITIAL, snapshot: snapshot(9, 1), entries: [] }, 'after truncating below the snapshot')
      await s.append(entries(10, 11, 2))
      await expectState(s, { hardState: INITIAL, snapshot: snapshot(9, 1), entries: entries(10, 11, 2) }, 'after appending')
      await f.close(s)
    }
  },
  {
    name: 'everything survives a close and reopen',
    needs: ['durable'],
    run: async f => {
      const s = await f.open()
      const expected = await writeRestartState(s)
      await verifyRestartState(await reopen(f, s), expected)
    }
  },
  {
    name: 'the hard state survives a reopen on its own, and repeatedly',
    needs: ['durable'],
    run: async f => {
      let s = await f.open()
      await s.saveHardState({ term: 5, vote: 'n3', commit: 0 })
      s = await reopen(f, s)
      await expectState(s, { hardState: { term: 5, vote: 'n3', commit: 0 }, snapshot: undefined, entries: [] }, 'after the first reopen')
      await s.saveHardState({ term: 6, vote: null, commit: 0 })
      s = await reopen(f, s)
      s = await reopen(f, s)
      await expectState(s, { hardState: { term: 6, vote: null, commit: 0 }, snapshot: undefined, entries: [] }, 'after two more reopens')
      await f.close(s)
    }
  },
  {
    name: 'load clamps commit to the last stored index',
    needs: ['clampsCommit'],
    run: async f => {
      const s = await f.open()
      await s.append(entries(1, 3, 1))
      await s.saveHardState({ term: 1, vote: 'n1', commit: 50 })
      assertEqual((await s.load()).hardState, { term: 1, vote: 'n1', commit: 3 }, 'commit past the last entry')
      await s.saveSnapshot(snapshot(20, 1))
      assertEqual((await s.load()).hardState, { term: 1, vote: 'n1', commit: 20 }, 'commit past a snapshot with no entries')
      await f.close(s)
    }
  },
  {
    name: 'an older snapshot is refused and changes nothing',
    needs: ['strict'],
    run: async f => {
      const s = await f.open()
      await s.append(entries(1, 10, 1))
      await s.saveSnapshot(snapshot(6, 1))
      await assertRejects(s.saveSnapshot(snapshot(4, 1)), 'an older snapshot')
      await expectState(s, { hardState: INITIAL, snapshot: snapshot(6, 1), entries: entries(7, 10, 1) }, 'after the refused snapshot')
      await s.append([entry(11, 1)])
      await f.close(s)
    }
  },
  {
    name: 'a closed storage rejects every call with StorageError; reopening recovers',
    needs: ['strict', 'durable'],
    run: async f => {
      const s = await f.open()
      await s.append(entries(1, 2, 1))
      await f.close(s)
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['load', async () => await s.load()],
        ['append', async () => { await s.append([entry(3, 1)]) }],
        ['saveHardState', async () => { await s.saveHardState({ term: 1, vote: null, commit: 0 }) }],
        ['truncateSuffix', async () => { await s.truncateSuffix(1) }],
        ['saveSnapshot', async () => { await s.saveSnapshot(snapshot(2, 1)) }]
      ]
      for (const [name, call] of calls) {
        const err = await assertRejects(call(), `${name} on a closed storage`)
        assertEqual(err.name, 'StorageError', `the error of ${name} on a closed storage`)
      }
      const t = await f.open()
      await expectState(t, { hardState: INITIAL, snapshot: undefined, entries: entries(1, 2, 1) }, 'after reopening')
      await f.close(t)
    }
  }
]

/**
 * A seeded random run against {@link RaftStorageModel}: appends (with a
 * new term after a truncation), truncations, snapshots (matching, not
 * matching, past the end), hard states and reopens, checking `load()`
 * after every call. The error message names the seed and the last steps.
 */
export const randomRun = async (f: RaftStorageFixture, traits: RaftStorageTraits, seed: number, steps: number): Promise<void> => {
  const rnd = prng(seed)
  const model = new RaftStorageModel()
  const trace: string[] = []
  let s = await f.open()
  let term = 1
  try {
    for (let step = 0; step < steps; step++) {
      const op = rnd.int(0, 99)
      const last = model.lastIndex()
      const first = (model.snapshot?.index ?? 0) + 1
      if (op < 45) {
        const es = entries(last + 1, last + rnd.int(1, 6), term)
        trace.push(`append ${es[0].index}..${es.at(-1)!.index} t${term}`)
        await s.append(es)
        model.append(es)
      } else if (op < 60) {
        const from = rnd.int(Math.max(1, first - 2), last + 2)
        term++
        trace.push(`truncateSuffix ${from}`)
        await s.truncateSuffix(from)
        model.truncateSuffix(from)
      } else if (op < 72) {
        // a snapshot at the stored snapshot's index only where the storage promises the strict semantics
        const at = rnd.int(Math.max(1, (model.snapshot?.index ?? 0) + (traits.strict === false ? 1 : 0)), last + 5)
        const kind = rnd.int(0, 2)
        const t = kind === 0 ? (model.termAt(at) ?? term) : kind === 1 ? term + 1 : (model.termAt(at) ?? term) + 1
        if (t > term) term = t
        trace.push(`saveSnapshot ${at} t${t}`)
        await s.saveSnapshot(snapshot(at, t))
        model.saveSnapshot(snapshot(at, t))
      } else if (op < 90) {
        const hs = { term, vote: rnd.int(0, 2) === 0 ? null : `n${rnd.int(1, 5)}`, commit: rnd.int(0, last + (traits.clampsCommit === false ? 0 : 3)) }
        trace.push(`saveHardState ${JSON.stringify(hs)}`)
        await s.saveHardState(hs)
        model.hardState = hs
      } else if (traits.durable !== false) {
        trace.push('reopen')
        s = await reopen(f, s)
      }
      await expectState(s, model.state(traits.clampsCommit !== false), `after step ${step}`)
    }
    await f.close(s)
  } catch (err) {
    const e = err as Error
    e.message = `random run with seed ${seed} failed: ${e.message}\n  last steps: ${trace.slice(-12).join('; ')}`
    throw e
  }
}

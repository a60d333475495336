#!/usr/bin/env node
// `npm run test:mutations`: shows that the Raft simulations catch durability
// and safety bugs. For each mutation it copies the repository (minus
// node_modules, which is symlinked, and .git) into a temporary directory,
// injects the bug into src/raft by an exact search/replace, runs the
// simulations there with their default seed counts, and reports whether a
// seed failed and which (with its replay line and the first line of why).
//
//   node scripts/mutations.mjs                 # every mutation, both simulations
//   node scripts/mutations.mjs --only votes    # mutations whose name contains "votes"
//   node scripts/mutations.mjs --sims durability   # only test/simulation/raft-durability.sim.test.ts
//   node scripts/mutations.mjs --baseline      # also run once without a mutation
//
// Seed counts come from the environment as in `npm test` (RAFT_DURABILITY_SEEDS,
// RAFT_SIM_SEEDS_3, RAFT_SIM_SEEDS_5). A pattern that is not found exactly
// once fails loudly: the code moved, update the mutation here.
import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const args = process.argv.slice(2)
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined }

const SIMS = {
  durability: 'test/simulation/raft-durability.sim.test.ts',
  raft: 'test/simulation/raft.sim.test.ts'
}

/** Each mutation: exact `search` → `replace` edits in files under src/raft. */
export const MUTATIONS = [
  {
    name: 'votes not persisted',
    what: 'the vote is left out of the hard state, so it is never written before a vote is answered (a restarted node can vote twice in a term)',
    edits: [{ file: 'src/raft/core-state.ts', search: 'return { term: this.term, vote: this.vote, commit: this.log.committed }', replace: 'return { term: this.term, vote: null, commit: this.log.committed }' }]
  },
  {
    name: 'send before persist',
    what: "each batch's messages are handed to the transport before its entries and hard state are persisted",
    edits: [{ file: 'src/raft/raft-node.ts', search: 'const commitOnly = await this.persist(rd)', replace: 'for (const m of rd.messages) { try { this.transport.send(peerId(m.to), encodeRaftMessage(m)) } catch {} }\n      rd = { ...rd, messages: [] }\n      const commitOnly = await this.persist(rd)', also: [{ search: 'const rd = core.ready()', replace: 'let rd = core.ready()' }] }]
  },
  {
    name: 'figure-8 commit rule removed',
    what: 'a leader commits an entry of an older term once a majority holds it (no "only entries of the current term by counting replicas")',
    edits: [{ file: 'src/raft/core-replication.ts', search: 'if (q <= this.log.committed || this.log.termAt(q) !== this.term) return', replace: 'if (q <= this.log.committed) return' }]
  },
  {
    name: 'two membership changes at once',
    what: 'the one-pending-change guard of proposeConfChange is removed',
    edits: [{ file: 'src/raft/core-membership.ts', search: "if (this.pendingConfIndex > this.log.committed || this.log.termAt(this.log.committed) !== this.term) {\n      throw new ConfChangeError('another membership change", replace: "if (false) {\n      throw new ConfChangeError('another membership change" }]
  },
  {
    name: 'expired session taken as new',
    what: "the session table treats a request of an unknown session as a new session even when the client acknowledged answers before (ackedSeq > 0): a late retry after expiry applies again",
    edits: [{ file: 'src/raft/session.ts', search: 'if (tag.ackedSeq !== undefined && tag.ackedSeq > 0) {', replace: 'if (false) {' }]
  }
]

const applyEdits = (dir, m) => {
  for (const e of m.edits) {
    const path = join(dir, e.file)
    let text = readFileSync(path, 'utf8')
    for (const { search, replace } of [e, ...(e.also ?? [])]) {
      const n = text.split(search).length - 1
      if (n !== 1) {
        throw new Error(`mutation "${m.name}": pattern ${n === 0 ? 'not found' : `found ${n} times`} in ${e.file}:\n  ${search.split('\n')[0]}\nThe code moved: update MUTATIONS in scripts/mutations.mjs.`)
      }
      text = text.replace(search, () => replace)
    }
    writeFileSync(path, text)
  }
}

const copyTree = () => {
  const dir = mkdtempSync(join(tmpdir(), 'aegis-mutation-'))
  const skip = new Set(['node_modules', '.git', 'test-results', 'dist', 'coverage'])
  cpSync(root, dir, { recursive: true, filter: (src) => { const rel = relative(root, src); return rel === '' || !skip.has(rel.split('/')[0]) } })
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir')
  return dir
}

/** Runs the simulations in `dir`; returns the failing seeds with their reasons, per file. */
const runSims = (dir, files) => {
  const t0 = Date.now()
  const r = spawnSync('npx', ['vitest', 'run', ...files], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } })
  const out = `${r.stdout}\n${r.stderr}`
  const caught = []
  const re = /seed (-?\d+) failed: ([^\n]*)[\s\S]*?\nreplay: ([^\n]*)/g
  for (let m; (m = re.exec(out)) !== null;) {
    if (!caught.some((c) => c.seed === Number(m[1]))) caught.push({ seed: Number(m[1]), why: m[2].slice(0, 160), replay: m[3] })
  }
  return { status: r.status, caught, seconds: (Date.now() - t0) / 1000, out }
}

const only = opt('--only')
const sims = (opt('--sims') ?? 'durability,raft').split(',').map((s) => {
  if (SIMS[s] === undefined) throw new Error(`--sims: unknown simulation ${s} (known: ${Object.keys(SIMS).join(', ')})`)
  return SIMS[s]
})
const chosen = MUTATIONS.filter((m) => only === undefined || m.name.includes(only))
if (chosen.length === 0) throw new Error(`--only ${only}: no such mutation`)

const results = []
const plan = [...(args.includes('--baseline') ? [{ name: 'baseline (no mutation)', what: 'the code as it is', edits: [] }] : []), ...chosen]
for (const m of plan) {
  const dir = copyTree()
  try {
    applyEdits(dir, m)
    process.stdout.write(`[mutations] ${m.name}: running ${sims.join(' ')} ... `)
    const r = runSims(dir, sims)
    const ok = r.caught.length > 0
    console.log(m.edits.length === 0 ? (r.status === 0 ? 'passes' : 'FAILS') : ok ? `caught (${r.seconds.toFixed(0)} s)` : `NOT caught (${r.seconds.toFixed(0)} s)`)
    for (const c of r.caught) console.log(`    seed ${c.seed}: ${c.why}\n      ${c.replay}`)
    if (r.caught.length === 0 && r.status !== 0) console.log(r.out.split('\n').filter((l) => /Error|FAIL/.test(l)).slice(0, 10).join('\n'))
    results.push({ name: m.name, caught: ok, status: r.status, seeds: r.caught, seconds: r.seconds })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

console.log('\n| mutation | caught | first failing seeds (test) | why |\n|---|---|---|---|')
for (const r of results) {
  const seeds = r.seeds.map((c) => `${c.seed} (${/-t "([^"]*)"/.exec(c.replay)?.[1] ?? ''} ${c.replay.includes('durability') ? 'durability' : 'raft'})`).join(', ')
  console.log(`| ${r.name} | ${r.caught ? 'yes' : r.name.startsWith('baseline') ? (r.status === 0 ? 'passes' : 'FAILS') : 'no'} | ${seeds} | ${r.seeds[0]?.why.replace(/\|/g, '/') ?? ''} |`)
}
const missed = results.filter((r) => !r.name.startsWith('baseline') && !r.caught)
const baselineFailed = results.some((r) => r.name.startsWith('baseline') && r.status !== 0)
process.exit(missed.length > 0 || baselineFailed ? 1 : 0)

#!/usr/bin/env node
/**
 * Writes the golden fixtures of Doc update format 1 under
 * test/fixtures/format-1/. Run ONCE, from the code that wrote format 1
 * (commit before the per-type modules); the files are then frozen: never
 * regenerate them (see test/fixtures/format-1/README.md). The script
 * refuses to overwrite an existing fixture.
 *
 *   node scripts/make-format1-fixtures.mjs
 */
import { build } from 'esbuild'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { tmpdir } from 'node:os'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'test/fixtures/format-1')
const bundle = join(tmpdir(), `aegis-format1-${process.pid}.mjs`)
await build({
  stdin: {
    contents: "export { Doc } from './src/doc/index.ts'; export { decodeStateVector } from './src/doc/state-vector.ts'",
    resolveDir: root,
    loader: 'ts'
  },
  bundle: true,
  format: 'esm',
  platform: 'node',
  outfile: bundle,
  logLevel: 'error'
})
const { Doc, decodeStateVector } = await import(pathToFileURL(bundle).href)

mkdirSync(out, { recursive: true })
const written = []
const write = (name, bytes, json) => {
  const bin = join(out, `${name}.bin`)
  if (existsSync(bin)) throw new Error(`${bin} exists: format-1 fixtures are frozen, never regenerate them`)
  writeFileSync(bin, bytes)
  writeFileSync(join(out, `${name}.json`), JSON.stringify(json, null, 2) + '\n')
  written.push(name)
}

/** A deterministic clock per replica: each call advances 1 ms from a fixed start. */
const clock = (start) => { let t = start; return () => t++ }
const mk = (id, start) => new Doc({ replicaId: id, now: clock(start) })
const sync = (...docs) => {
  for (const a of docs) for (const b of docs) if (a !== b) b.applyUpdate(a.encodeStateAsUpdate(b.encodeStateVector()))
}

// ---------------------------------------------------------------- state 1: one replica, every type, nested
{
  const a = mk('alice', 1_700_000_000_000)
  a.counter('votes').increment(5)
  a.counter('votes').decrement(2)
  a.register('title').set('Plan')
  a.set('tags').add('x')
  a.set('tags').add({ k: [1, 2] })
  a.set('tags').add(3)
  a.set('tags').remove('x')
  const m = a.map('tasks')
  m.set('t1', { title: 'Write docs', done: false })
  m.set('t2', 'plain')
  m.set('t3', null)
  m.delete('t2')
  const inner = m.map('nested')
  inner.set('k', 1)
  inner.counter('hits').increment(3)
  inner.set('é/ünïcödé', 'ok')
  inner.register('reg').set([1, 'two', { three: 3 }])
  inner.orSet('bag').add('a')
  inner.orSet('bag').add('b')
  inner.orSet('bag').remove('a')
  inner.set('set-holder', 0)
  inner.delete('set-holder')
  m.map('deep').map('deeper').set('leaf', 'x')
  m.map('deep').set('bye', 1)
  m.map('deep').delete('bye')
  write('state-single-replica', a.encodeStateAsUpdate(), { kind: 'state', json: a.toJSON(), version: a.version().toJSON() })
  write('sv-single-replica', a.encodeStateVector(), { kind: 'state-vector', of: 'state-single-replica', version: decodeStateVector(a.encodeStateVector()) })
}

// ---------------------------------------------------------------- state 2: three replicas, concurrent LWW conflicts, removals
{
  const a = mk('alice', 1_700_000_000_000)
  const b = mk('bob', 1_700_000_000_000)
  const c = mk('carol', 1_700_000_000_500)
  a.map('m').set('k', 'from alice')
  b.map('m').set('k', 'from bob') // same time as alice: tie broken by replica id
  c.map('m').set('k', 'from carol')
  a.register('r').set('ra')
  b.register('r').set('rb')
  a.counter('n').increment(2)
  b.counter('n').increment(3)
  c.counter('n').decrement(1)
  a.set('s').add('only-a')
  b.set('s').add('both')
  c.set('s').add('both')
  a.map('m').map('child').counter('c').increment()
  b.map('m').map('child').set('x', 'bx')
  c.map('m').orSet('bag').add(1)
  a.map('m').orSet('bag').add(1)
  c.map('m').set('gone', 1)
  sync(a, b, c)
  // removals after sync, and a concurrent add-wins against a remove
  a.set('s').remove('both')
  b.set('s').add('both')
  c.map('m').delete('gone')
  a.map('m').map('child').set('y', 'ay')
  b.register('r').set('rb2')
  sync(a, b, c)
  // concurrent writes left unresolved (conflicts kept in the state)
  a.map('m').set('late', 'a')
  b.map('m').set('late', 'b')
  c.map('m').set('late', 'c')
  sync(a, b, c)
  write('state-three-replicas', a.encodeStateAsUpdate(), { kind: 'state', json: a.toJSON(), version: a.version().toJSON() })
  write('sv-three-replicas', a.encodeStateVector(), { kind: 'state-vector', of: 'state-three-replicas', version: decodeStateVector(a.encodeStateVector()) })
  // a partial state: what carol lacks after alice's further edits
  const cSv = c.encodeStateVector()
  a.map('m').set('after', 'sv')
  a.counter('n').increment(10)
  a.map('m').delete('late')
  const diff = a.encodeStateAsUpdate(cSv)
  c.applyUpdate(diff)
  write('state-diff-for-carol', diff, { kind: 'state-diff', base: 'state-three-replicas', json: c.toJSON(), version: c.version().toJSON() })
}

// ---------------------------------------------------------------- state 3: a state vector with a cloud (dots beyond the contiguous prefix)
{
  const a = mk('alice', 1_700_000_000_000)
  const b = mk('bob', 1_700_000_001_000)
  const deltas = []
  a.on('update', u => deltas.push(u))
  a.map('m').set('1', 1)
  a.map('m').set('2', 2)
  a.map('m').set('3', 3)
  b.applyUpdate(deltas[0])
  b.applyUpdate(deltas[2]) // skips deltas[1]: seq 3 lands in the cloud
  write('state-with-gap', b.encodeStateAsUpdate(), { kind: 'state', json: b.toJSON(), version: b.version().toJSON() })
  write('sv-with-cloud', b.encodeStateVector(), { kind: 'state-vector', of: 'state-with-gap', version: decodeStateVector(b.encodeStateVector()) })
}

// ---------------------------------------------------------------- deltas: local transactions of two replicas, removals included
{
  const a = mk('alice', 1_700_000_000_000)
  const b = mk('bob', 1_700_000_000_700)
  const deltas = []
  const seen = mk('observer', 1_700_000_000_000)
  for (const [d, name] of [[a, 'a'], [b, 'b']]) d.on('update', u => { deltas.push([name, u]) })
  a.map('m').set('k', 'v1')
  a.transact(() => {
    a.counter('n').increment(4)
    a.set('s').add('x')
    a.set('s').add('y')
    a.map('m').map('inner').set('deep', true)
  })
  a.map('m').set('k', 'v2') // overwrites v1: a removal of (alice, 1)
  a.set('s').remove('x')
  b.map('m').set('b', 1)
  b.register('r').set({ any: ['json'] })
  b.transact(() => { b.map('m').set('tmp', 1); b.map('m').delete('tmp') })
  b.applyUpdate(a.encodeStateAsUpdate())
  b.map('m').map('inner').set('deep', false)
  b.map('m').delete('k')
  b.counter('n').decrement(1)
  a.applyUpdate(b.encodeStateAsUpdate())
  a.register('r').set('last')
  for (const [, u] of deltas) seen.applyUpdate(u)
  const names = []
  deltas.forEach(([who, u], i) => {
    const name = `delta-${String(i).padStart(2, '0')}-${who}`
    names.push(name)
    const one = mk('one', 0)
    one.applyUpdate(u)
    write(name, u, { kind: 'delta', json: one.toJSON() })
  })
  writeFileSync(join(out, 'deltas.json'), JSON.stringify({ kind: 'delta-set', deltas: names, json: seen.toJSON(), version: seen.version().toJSON() }, null, 2) + '\n')
}

console.log(`wrote ${written.length} fixtures to ${out}:\n  ${written.join('\n  ')}`)

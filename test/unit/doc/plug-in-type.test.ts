/**
 * A container type of format 2 plugs in through the registry alone: a toy
 * append-only log (type 4, runs of ids, no other module touched) is
 * written as update format 2, read by another doc, integrated with
 * `seenRange`, reported with a `delta`, and synced by state vector; a doc
 * without the module refuses it and stays unchanged.
 */
import * as encoding from 'lib0/encoding'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readCount, readString } from '../../../src/codec/reader.js'
import { ContainerBase, ContainerType, type MapContainer } from '../../../src/doc/containers.js'
import { Doc, type DocChange } from '../../../src/doc/index.js'
import { readReplica, readSeq } from '../../../src/doc/types/columns.js'
import { type ContainerModule, registerModuleForTest } from '../../../src/doc/types/index.js'
import { DecodeError } from '../../../src/errors.js'

interface Run { r: number, s: number, text: string }
class LogContainer extends ContainerBase {
  readonly type = ContainerType.Text
  readonly runs: Run[] = []
  constructor (parent: MapContainer | null, key: string) { super(parent, key) }
  isEmpty (): boolean { return this.runs.length === 0 }
  toJSON (): string { return this.runs.map(x => x.text).join('') }
}

const logModule: ContainerModule<LogContainer, { runs: Run[] }, Run> = {
  type: ContainerType.Text,
  name: 'log',
  format: 2,
  create: (parent, key) => new LogContainer(parent, key),
  statePart: (c, has, keep) => {
    const runs = c.runs.filter(x => { if (has !== null && has(x.r, x.s)) { keep(x.r, x.s); return false } return true })
    return runs.length > 0 ? { runs } : null
  },
  deltaPart: (_c, adds) => ({ runs: adds.slice() }),
  encode (e, p, w) {
    const runs = p?.runs ?? []
    encoding.writeVarUint(e, runs.length)
    for (const x of runs) { encoding.writeVarUint(e, w(x.r)); encoding.writeVarUint(e, x.s); encoding.writeVarString(e, x.text) }
  },
  decode (d, n) {
    const runs: Run[] = []
    for (let i = readCount(d, 'runs', 3); i > 0; i--) runs.push({ r: readReplica(d, n, 'run replica'), s: readSeq(d, 'run seq'), text: readString(d, 'run text') })
    return { runs }
  },
  forEachDot: (p, f) => { for (const x of p.runs) for (let i = 0; i < x.text.length; i++) f(x.r, x.s + i) },
  maxTime: () => 0,
  integrate (p, ctx) {
    for (const x of p.runs) {
      const r = ctx.rmap[x.r]
      if (ctx.cc.has(r, x.s)) continue
      const c = ctx.container()
      const run = { r, s: x.s, text: x.text }
      c.runs.push(run)
      ctx.seenRange(r, x.s, x.s + x.text.length - 1)
      // recorded for the update (recording) and for the change's delta (observing)
      if (ctx.txn.recording || ctx.txn.observing) ctx.txn.add(c, run)
      ctx.txn.touch(c)
    }
  },
  writeLoc () {},
  readLoc: () => ({ loc: '', value: null }),
  removeDot: () => false,
  scanRemove: () => false,
  clear: () => false,
  collectChanges: (c, _keys, txn) => ({ delta: ((txn.adds?.get(c) ?? []) as Run[]).map(x => ({ insert: x.text })) }),
  toJSON: c => c.toJSON()
}

/** Appends `text` to the root log `name` of `doc` as one run (what a handle would do). */
const append = (doc: Doc, name: string, text: string): void => {
  const txn = doc._begin()
  try {
    const k = String.fromCharCode(48 + ContainerType.Text) + name
    let c = doc._roots.get(k) as LogContainer | undefined
    if (c === undefined) doc._roots.set(k, c = new LogContainer(null, name))
    const run = { r: 0, s: doc._dots(txn, text.length), text }
    c.runs.push(run)
    if (txn.recording || txn.observing) txn.add(c, run)
    txn.touch(c)
  } finally {
    doc._end(txn)
  }
}

describe('a format-2 container type plugged in through the registry', () => {
  let unregister: () => void
  beforeAll(() => { unregister = registerModuleForTest(logModule) })
  afterAll(() => unregister())

  it('is written as format 2, integrates with id ranges, reports a delta and syncs by state vector', () => {
    const a = new Doc({ replicaId: 'a' })
    const b = new Doc({ replicaId: 'b' })
    const sent: Uint8Array[] = []
    a.on('update', u => sent.push(u))
    a.map('m').set('k', 1)
    append(a, 'log', 'hello ')
    append(a, 'log', 'world')
    expect(sent.map(u => u[0])).toEqual([1, 2, 2]) // old types alone stay format 1
    expect(a.version().toJSON()).toEqual({ a: 12 }) // 1 + 6 + 5 ids, as ranges
    const changes: DocChange[] = []
    b.on('change', cs => changes.push(...cs))
    for (const u of sent) b.applyUpdate(u)
    expect(b.toJSON()).toEqual({ log: 'hello world', m: { k: 1 } })
    expect(b.version().toJSON()).toEqual({ a: 12 })
    expect(changes.filter(c => c.type === ('log' as never)).map(c => c.delta)).toEqual([[{ insert: 'hello ' }], [{ insert: 'world' }]])
    // state vector sync sends only what is missing
    const c = new Doc({ replicaId: 'c' })
    c.applyUpdate(sent[1])
    c.applyUpdate(a.encodeStateAsUpdate(c.encodeStateVector()))
    expect(c.toJSON()).toEqual(b.toJSON())
    expect(a.encodeStateAsUpdate(c.encodeStateVector()).length).toBeLessThan(8)
  })

  it('a doc without the module refuses the update and stays unchanged', () => {
    const a = new Doc({ replicaId: 'a' })
    const sent: Uint8Array[] = []
    a.on('update', u => sent.push(u))
    append(a, 'log', 'x')
    unregister()
    try {
      const old = new Doc({ replicaId: 'old' })
      old.counter('n').increment()
      const sv = old.encodeStateVector()
      expect(() => old.applyUpdate(sent[0])).toThrow(DecodeError)
      expect(() => old.applyUpdate(sent[0])).toThrow(/unknown container type 4 \(container 0\).*upgrade aegis-replication/)
      expect(old.encodeStateVector()).toEqual(sv)
      expect(old.toJSON()).toEqual({ n: 1 })
    } finally {
      unregister = registerModuleForTest(logModule)
    }
  })
})

import { existsSync, readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import { createDecoder, expectEnd } from '../../../src/codec/reader.js'
import { createSequence, readIdRanges, readSeqRuns, writeIdRanges, writeSeqRuns } from '../../../src/seq/index.js'

// the repository's fixture; else ../shared/data beside the repository or the worktree; SEQ_TRACE overrides
const FILE = [process.env.SEQ_TRACE, '../../fixtures/traces/automerge-paper.json.gz', '../../../../shared/data/automerge-paper.json.gz', '../../../../../shared/data/automerge-paper.json.gz']
  .filter((p): p is string => p !== undefined)
  .map(p => p.startsWith('/') ? p : new URL(p, import.meta.url).pathname)
  .find(p => existsSync(p))
const cmp = (a: number, b: number): number => a - b

describe('the automerge-paper editing trace', () => {
  it.skipIf(FILE === undefined)('replays as local edits, and its encoded full state loads into a fresh replica', () => {
    const { txns, endContent } = JSON.parse(gunzipSync(readFileSync(FILE!)).toString()) as { txns: Array<[number, number, string]>, endContent: string }
    const a = createSequence({ kind: 'text', compareReplicas: cmp })
    let s = 0
    for (const [pos, del, ins] of txns) {
      if (del > 0) a.delete(pos, del)
      if (ins.length > 0) { a.insert(pos, ins, 0, s); s += ins.length }
    }
    expect(a.length).toBe(endContent.length)
    expect(a.toString()).toBe(endContent)

    const e = encoding.createEncoder()
    writeSeqRuns(e, a.runsSince(() => false), r => r)
    writeIdRanges(e, a.deleteSet(), r => r)
    const bytes = encoding.toUint8Array(e)
    const d = createDecoder(bytes)
    const runs = readSeqRuns(d, 1)
    const dels = readIdRanges(d, 1)
    expectEnd(d, 'trace state')
    const b = createSequence({ kind: 'text', compareReplicas: cmp })
    expect(runs.every(run => b.canIntegrate(run) ? (b.integrate(run), true) : false)).toBe(true)
    b.applyDeletes(dels)
    expect(b.toString()).toBe(endContent)
    expect(b.deleteSet()).toEqual(a.deleteSet())
    // every id of the trace is held, deleted or not
    expect(b.has(0, 0) && b.has(0, s - 1) && !b.has(0, s)).toBe(true)
  })
})

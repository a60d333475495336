/**
 * Issue 10, item 7: an invariant error thrown inside `RaftCore.step()`
 * escaped into the transport's message listener (and whatever delivered
 * the frame). The driver now catches it, logs it at error, halts the node
 * and rejects what was pending with a typed error.
 */
import { describe, expect, it } from 'vitest'
import { RaftStoppedError } from 'aegis-replication/raft'
import { enc, fakePeers, track } from './fake-peers.js'

describe('an internal error in the core', () => {
  it('halts the node: logged at error, pending proposals reject with RaftStoppedError, nothing escapes to the transport', async () => {
    const errors: Array<{ msg: string, fields?: Record<string, unknown> }> = []
    const logger = { debug: () => {}, info: () => {}, warn: () => {}, error: (msg: string, fields?: Record<string, unknown>) => { errors.push({ msg, fields }) } }
    const c = await fakePeers({}, logger)
    await c.until(() => c.node.isLeader())
    const term = c.node.status().term
    await c.until(() => c.node.status().commit === 2)
    c.state.acking = false
    const p = track(c.node.propose(enc('x')))
    await c.run(10)
    // the log's invariants are checked by assertions inside the core: make one fail on the next message
    const core = c.node.raft!
    core.step = () => { throw new Error('raft invariant violated: injected by the test') }
    c.send({ type: 'heartbeat-resp', from: 'n2', to: 'n1', term, readSeq: 0 })
    await c.until(() => p.settled)
    expect(p.error).toBeInstanceOf(RaftStoppedError)
    expect(p.error!.message).toMatch(/internal error/)
    expect((p.error as Error & { cause?: Error }).cause?.message).toMatch(/invariant/)
    expect(errors.some((e) => /internal error/.test(e.msg))).toBe(true)
    // stopped for good: later calls reject, later frames are ignored
    await expect(c.node.propose(enc('y'))).rejects.toBeInstanceOf(RaftStoppedError)
    c.send({ type: 'heartbeat', from: 'n2', to: 'n1', term: term + 1, commit: 3, readSeq: 0 })
    await c.run(50)
  })

  it('an error thrown by tick() halts the node the same way', async () => {
    const errors: string[] = []
    const logger = { debug: () => {}, info: () => {}, warn: () => {}, error: (msg: string) => { errors.push(msg) } }
    const c = await fakePeers({}, logger)
    await c.until(() => c.node.isLeader())
    c.state.acking = false
    const p = track(c.node.propose(enc('x')))
    c.node.raft!.tick = () => { throw new Error('raft invariant violated: injected by the test') }
    await c.until(() => p.settled)
    expect(p.error).toBeInstanceOf(RaftStoppedError)
    expect(errors.length).toBe(1)
  })
})

/** Issue 9, finding 3: chunk reassembly within per-connection and hub-wide budgets, with a timeout, released on close. */
import { describe, expect, it } from 'vitest'
import { encodeAwarenessEntries, encodeMessage, ErrorCode, MessageType, Reassembler, splitFrame } from '../../../src/sync/index.js'
import { setupHub, settle } from './hardening-setup.js'

const KiB = 1024

/** One chunk of a message that will never be completed (chunk 0 of `count`). */
const chunk = (id: number, index: number, count: number, bytes: number): Uint8Array =>
  encodeMessage({ type: MessageType.Chunk, id, index, count, bytes: new Uint8Array(bytes).fill(7) })

describe('reassembly budgets (finding 3)', () => {
  it('closes a connection past its own budget with TooLarge (4413) and frees what it held', async () => {
    const { connect, server } = setupHub({ maxReassemblyBytesPerConnection: 200 * KiB })
    const a = connect()
    a.frame(chunk(1, 0, 1000, 100 * KiB))
    expect(server.stats().reassemblyBytes).toBeGreaterThanOrEqual(100 * KiB)
    a.frame(chunk(2, 0, 1000, 100 * KiB))
    expect(a.closed).toEqual([{ code: ErrorCode.TooLarge, reason: expect.any(String) }])
    expect(server.stats().reassemblyBytes).toBe(0)
    expect(server.stats().closedByCode[ErrorCode.TooLarge]).toBe(1)
  })

  it('closes the connection that would pass the hub-wide budget with Busy (4503); the others keep theirs', async () => {
    const { connect, server } = setupHub({ maxReassemblyBytes: 450 * KiB })
    const conns = [connect(), connect(), connect(), connect(), connect()]
    for (const [i, c] of conns.entries()) c.frame(chunk(1, 0, 1000, 100 * KiB + i))
    expect(conns.slice(0, 4).every(c => c.closed.length === 0)).toBe(true)
    expect(conns[4].closed).toEqual([{ code: ErrorCode.Busy, reason: expect.any(String) }])
    const held = server.stats().reassemblyBytes
    expect(held).toBeGreaterThanOrEqual(400 * KiB)
    expect(held).toBeLessThanOrEqual(450 * KiB)
    for (const c of conns) c.drop()
    expect(server.stats().reassemblyBytes).toBe(0)
    expect(server.connectionCount).toBe(0)
  })

  it('a message as large as the per-connection budget still goes through', async () => {
    const { connect, server } = setupHub({ maxReassemblyBytesPerConnection: 64 * KiB, maxMessageBytes: 64 * KiB, maxFrameBytes: 16 * KiB })
    const a = connect()
    a.join('r')
    await settle()
    const update = encodeAwarenessEntries([{ clientID: 5, clock: 1, state: { s: 'x'.repeat(60 * KiB) } }])
    const whole = encodeMessage({ type: MessageType.Awareness, room: 'r', update })
    expect(whole.length).toBeGreaterThan(60 * KiB)
    expect(whole.length).toBeLessThanOrEqual(64 * KiB)
    for (const f of splitFrame(whole, 16 * KiB, 9)) a.frame(f)
    await settle()
    expect(a.closed).toEqual([])
    // it arrived whole: refused as presence (over 16 KiB), not as a message
    expect(a.errors()).toEqual([{ room: 'r', code: ErrorCode.TooLarge }])
    expect(server.stats().reassemblyBytes).toBe(0)
  })

  it('an unfinished message times out: checked on the next frame and by sweep()', async () => {
    const { connect, server, tick } = setupHub({ partialMessageTimeoutMs: 30_000 })
    const a = connect(); const b = connect()
    a.frame(chunk(1, 0, 3, 1000))
    b.frame(chunk(1, 0, 3, 1000))
    tick(29_000)
    server.sweep()
    b.frame(chunk(1, 1, 3, 1000))
    expect([a.closed, b.closed]).toEqual([[], []])
    tick(2000)
    b.frame(chunk(1, 2, 3, 1000)) // too late, even as its last chunk
    expect(b.closed).toEqual([{ code: ErrorCode.BadMessage, reason: expect.stringContaining('not completed within') }])
    server.sweep()
    expect(a.closed).toEqual([{ code: ErrorCode.BadMessage, reason: expect.stringContaining('not completed within') }])
    expect(server.stats().reassemblyBytes).toBe(0)
  })

  it('the Reassembler holds what came, not what a chunk declares; tiny chunks count their overhead; empty ones are refused', () => {
    const r = new Reassembler()
    r.push({ type: MessageType.Chunk, id: 1, index: 60_000_000, count: 60_000_001, bytes: new Uint8Array(1) })
    expect(r.bufferedBytes).toBe(1)
    expect(r.heldBytes).toBeGreaterThan(1)
    expect(() => r.push({ type: MessageType.Chunk, id: 2, index: 0, count: 2, bytes: new Uint8Array(0) })).toThrow(/empty/)
    // a small view of a large buffer is copied, so the buffer is not kept alive
    const big = new Uint8Array(1 << 20)
    r.push({ type: MessageType.Chunk, id: 3, index: 0, count: 2, bytes: big.subarray(0, 10) })
    const out = r.push({ type: MessageType.Chunk, id: 3, index: 1, count: 2, bytes: big.subarray(10, 20) })
    expect(out?.length).toBe(20)
  })
})

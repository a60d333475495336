import { describe, expect, it, vi } from 'vitest'
import { Doc, DecodeError } from 'aegis-replication'
import { encodeMessage, MessageType, PeerSync } from 'aegis-replication/sync'
import { InMemoryNetwork, type PeerId } from 'aegis-replication/transport'
import { runSeeds } from 'aegis-replication/testing'

const json = (d: Doc): string => JSON.stringify(d.toJSON())

/** Two sessions wired back to back; frames are delivered when `flush()` runs. */
const pair = (a: Doc, b: Doc, opts: { maxFrameBytes?: number, now?: () => number } = {}) => {
  const toA: Uint8Array[] = []
  const toB: Uint8Array[] = []
  const sa = new PeerSync({ room: 'r', doc: a, send: f => toB.push(f), ...opts })
  const sb = new PeerSync({ room: 'r', doc: b, send: f => toA.push(f), ...opts })
  const flush = (): number => {
    let n = 0
    while (toA.length + toB.length > 0) {
      for (const f of toA.splice(0)) { sa.receive(f); n++ }
      for (const f of toB.splice(0)) { sb.receive(f); n++ }
    }
    return n
  }
  return { sa, sb, toA, toB, flush }
}

describe('PeerSync', () => {
  it('both sides get what the other lacks, then live updates flow both ways', () => {
    const a = new Doc({ replicaId: 'a' })
    const b = new Doc({ replicaId: 'b' })
    a.map('m').set('x', 1)
    b.map('m').set('y', 2)
    const { sa, sb, flush } = pair(a, b)
    const synced = vi.fn()
    sa.on('synced', synced)
    sa.start()
    sb.start()
    flush()
    expect(sa.synced && sb.synced).toBe(true)
    expect(synced).toHaveBeenCalledTimes(1)
    expect(a.toJSON()).toEqual({ m: { x: 1, y: 2 } })
    expect(json(b)).toBe(json(a))
    b.counter('c').increment(5)
    a.set('s').add('t')
    flush()
    expect(json(a)).toBe(json(b))
    expect(a.counter('c').value()).toBe(5)
  })

  it('sends nothing before start and after stop; the next handshake covers what happened meanwhile', () => {
    const a = new Doc({ replicaId: 'a' })
    const b = new Doc({ replicaId: 'b' })
    let now = 0
    const { sa, sb, toB, flush } = pair(a, b, { now: () => now })
    a.map('m').set('early', true)
    expect(toB).toHaveLength(0)
    sa.start(); sb.start(); flush()
    sa.stop()
    a.map('m').set('offline', true)
    expect(toB).toHaveLength(0)
    now += 2000 // b answers a restarted peer's vector with its own (at most once a second)
    sa.start(); flush()
    expect(b.toJSON()).toEqual({ m: { early: true, offline: true } })
  })

  it('chunks messages larger than maxFrameBytes and reassembles them', () => {
    const a = new Doc({ replicaId: 'a' })
    const b = new Doc({ replicaId: 'b' })
    a.register('big').set('x'.repeat(200_000))
    const { sa, sb, toB, flush } = pair(a, b, { maxFrameBytes: 16 * 1024 })
    sa.start(); sb.start()
    let biggest = 0
    let frames = 0
    while (toB.length > 0 || frames === 0) {
      for (const f of toB) biggest = Math.max(biggest, f.length)
      frames += flush()
    }
    expect(biggest).toBeLessThanOrEqual(16 * 1024)
    expect(frames).toBeGreaterThan(12)
    expect(b.register('big').get()).toHaveLength(200_000)
  })

  it('rejects bad frames with a DecodeError and leaves the doc as it was', () => {
    const a = new Doc({ replicaId: 'a' })
    a.map('m').set('k', 'v')
    const s = new PeerSync({ room: 'r', doc: a, send: () => {} })
    s.start()
    const before = json(a)
    expect(() => s.receive(new Uint8Array([1, 250, 3]))).toThrow(DecodeError)
    expect(() => s.receive(encodeMessage({ type: MessageType.Update, room: 'r', seq: 0, update: new Uint8Array([9, 9, 9]) }))).toThrow(DecodeError)
    expect(() => s.receive(encodeMessage({ type: MessageType.Join, room: 'r', token: '', access: 'write', stateVector: new Uint8Array() }))).toThrow(DecodeError)
    for (let i = 0; i < 500; i++) {
      const bytes = Uint8Array.from({ length: 1 + (i % 40) }, (_, j) => (i * 31 + j * 17) & 255)
      try { s.receive(bytes) } catch (e) { expect(e).toBeInstanceOf(DecodeError) }
    }
    expect(json(a)).toBe(before)
  })

  it('forward decides which origins go over the link (a full mesh does not relay between its links)', () => {
    const doc = new Doc({ replicaId: 'hub-side' })
    const sent: Uint8Array[] = []
    const otherLink = {}
    const s = new PeerSync({ room: 'r', doc, send: f => sent.push(f), forward: origin => origin !== otherLink })
    s.start()
    sent.length = 0
    const remote = new Doc({ replicaId: 'x' })
    remote.map('m').set('a', 1)
    doc.applyUpdate(remote.encodeStateAsUpdate(), otherLink) // came over another link: not relayed
    expect(sent).toHaveLength(0)
    doc.map('m').set('b', 2) // local: goes out
    expect(sent).toHaveLength(1)
    remote.map('m').set('c', 3)
    doc.applyUpdate(remote.encodeStateAsUpdate(), 'the hub') // from elsewhere: goes out
    expect(sent).toHaveLength(2)
  })

  it('ignores frames of another room', () => {
    const a = new Doc({ replicaId: 'a' })
    const b = new Doc({ replicaId: 'b' })
    b.map('m').set('k', 1)
    const s = new PeerSync({ room: 'r', doc: a, send: () => {} })
    s.start()
    s.receive(encodeMessage({ type: MessageType.Update, room: 'other', seq: 0, update: b.encodeStateAsUpdate() }))
    expect(a.toJSON()).toEqual({})
  })

  it('on a bus, a late joiner that announces its state catches up and is caught up with', () => {
    const docs = ['a', 'b', 'c'].map(id => new Doc({ replicaId: id }))
    const queue: Array<{ from: number, frame: Uint8Array }> = []
    const sessions = docs.map((doc, i) => new PeerSync({ room: 'r', doc, announceState: true, send: frame => queue.push({ from: i, frame }) }))
    const flush = (members: number[]): void => {
      while (queue.length > 0) {
        const { from, frame } = queue.shift()!
        for (const m of members) if (m !== from) sessions[m].receive(frame)
      }
    }
    docs[0].map('m').set('a', 1)
    sessions[0].start(); sessions[1].start(); flush([0, 1])
    docs[1].map('m').set('b', 2); flush([0, 1])
    docs[2].map('m').set('c', 3) // offline edit of the newcomer
    sessions[2].start(); flush([0, 1, 2])
    for (const d of docs) expect(d.toJSON()).toEqual({ m: { a: 1, b: 2, c: 3 } })
  })
})

describe('simulation: PeerSync mesh on the in-memory network', () => {
  it('a mesh of 2–5 peers converges under partitions, loss, duplication and reordering', async () => {
    await runSeeds(100, async (seed, prng) => {
      const net = new InMemoryNetwork({
        seed, latency: { min: 0, max: prng.int(5, 50) }, loss: prng.next() * 0.2, duplicate: prng.next() * 0.2, reorder: prng.next() * 0.3, traceLimit: 50
      })
      const ids = Array.from({ length: prng.int(2, 6) }, (_, i) => `p${i}` as PeerId)
      const peers = ids.map(id => {
        const doc = new Doc({ replicaId: id })
        const t = net.createTransport(id)
        const clock = net.clockFor(id)
        const sessions = new Map<PeerId, PeerSync>()
        const sessionFor = (other: PeerId): PeerSync => {
          let s = sessions.get(other)
          if (s === undefined) {
            s = new PeerSync({ room: 'r', doc, maxFrameBytes: 512, resyncEveryMs: 500, now: () => clock.now(), send: f => t.send(other, f) })
            sessions.set(other, s)
          }
          return s
        }
        t.on('peer-joined', p => sessionFor(p).start())
        t.on('message', (from, f) => sessionFor(from).receive(f))
        const tick = (): void => { for (const s of sessions.values()) s.tick(); clock.setTimeout(tick, 100) }
        clock.setTimeout(tick, 100)
        return { id, doc }
      })
      for (let step = 0; step < 30; step++) {
        const r = prng.next()
        const p = prng.pick(peers)
        if (r < 0.6) {
          const k = `k${prng.int(0, 6)}`
          if (r < 0.3) p.doc.map('m').set(k, `${p.id}@${step}`)
          else if (r < 0.4) p.doc.map('m').delete(k)
          else if (r < 0.5) p.doc.set('s').add(k)
          else p.doc.register('big').set('x'.repeat(prng.int(100, 2000)) + step)
        } else if (r < 0.75) {
          const s = prng.shuffle([...ids])
          const cut = prng.int(1, ids.length - 1)
          net.partition(s.slice(0, cut), s.slice(cut))
        } else if (r < 0.85) {
          net.heal()
        }
        await net.runForAsync(prng.int(0, 200))
      }
      net.heal()
      for (const a of ids) for (const b of ids) if (a !== b) net.setLinkOptions(a, b, {})
      const want = (): boolean => peers.every(p => json(p.doc) === json(peers[0].doc))
      const ok = await net.runUntilAsync(want, 60_000)
      if (!ok) throw new Error(`no convergence after healing:\n${peers.map(p => `${p.id}: ${json(p.doc).slice(0, 100)}`).join('\n')}\n${net.formatTrace(20)}`)
    }, { env: process.env, name: 'PeerSync mesh converges' })
  })
})

import { describe, expect, it } from 'vitest'
import { InMemoryNetwork, formatTraceEvent, peerId, type PeerId, type Transport, type TraceEvent } from 'aegis-replication/transport'
import { Prng } from 'aegis-replication/testing'
import { InvalidArgumentError, TransportClosedError } from '../../../src/errors.js'

interface Received { from: PeerId, bytes: number[], at: number }

/** A network with peers `ids`, joined, each logging what it receives. */
const setup = (options: ConstructorParameters<typeof InMemoryNetwork>[0] = {}, ids = ['a', 'b', 'c']) => {
  const net = new InMemoryNetwork(options)
  const inbox = new Map<string, Received[]>()
  const peers: Record<string, Transport> = {}
  for (const id of ids) {
    const t = net.createTransport(id)
    peers[id] = t
    const box: Received[] = []
    inbox.set(id, box)
    t.on('message', (from, frame) => { box.push({ from, bytes: [...frame], at: net.clock.now() }) })
  }
  net.runUntilIdle()
  return { net, peers, inbox: (id: string) => inbox.get(id)!, p: (id: string) => peerId(id) }
}

const bytes = (...xs: number[]) => new Uint8Array(xs)
const firstByte = (r: Received[]) => r.map((m) => m.bytes[0])

describe('InMemoryNetwork: delivery and latency', () => {
  it('delivers a frame from its sender, only when the clock reaches it', () => {
    const { net, peers, inbox, p } = setup({ latency: { min: 50, max: 50 } })
    peers.a.send(p('b'), bytes(1, 2, 3))
    expect(inbox('b')).toEqual([])
    net.runFor(49)
    expect(inbox('b')).toEqual([])
    net.runFor(1)
    expect(inbox('b')).toEqual([{ from: 'a', bytes: [1, 2, 3], at: 50 }])
    expect(inbox('c')).toEqual([])
    expect(net.stats).toEqual({ sent: 1, delivered: 1, dropped: 0, duplicated: 0 })
  })

  it('draws each delay from the latency range', () => {
    const { net, peers, inbox, p } = setup({ seed: 5, latency: { min: 10, max: 30 } })
    const sentAt: number[] = []
    for (let i = 0; i < 200; i++) {
      sentAt.push(net.clock.now())
      peers.a.send(p('b'), bytes(i & 0xff))
      net.runFor(100) // one at a time: FIFO never stretches a delay
    }
    const delays = inbox('b').map((m, i) => m.at - sentAt[i])
    expect(delays).toHaveLength(200)
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(10)
    expect(Math.max(...delays)).toBeLessThanOrEqual(30)
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(15) // spread over the range
  })

  it('sending to an unknown peer drops the frame without throwing', () => {
    const { net, peers } = setup()
    peers.a.send(peerId('nobody'), bytes(1))
    net.runUntilIdle()
    expect(net.stats).toMatchObject({ sent: 1, delivered: 0, dropped: 1 })
    expect(net.trace().at(-1)).toMatchObject({ type: 'drop', reason: 'no-peer' })
  })

  it('runTo and runUntil stop where asked', () => {
    const { net, peers, inbox, p } = setup({ latency: { min: 10, max: 10 } })
    peers.a.send(p('b'), bytes(1))
    net.runTo(net.clock.now() + 5)
    expect(inbox('b')).toHaveLength(0)
    net.runTo(net.clock.now() - 100) // no-op
    const start = net.clock.now()
    expect(net.runUntil(() => inbox('b').length === 1, 1000)).toBe(true)
    expect(net.clock.now()).toBe(start + 5)
    expect(net.runUntil(() => false, 100)).toBe(false)
    expect(net.clock.now()).toBe(start + 105)
  })
})

describe('InMemoryNetwork: faults', () => {
  it('loses about `loss` of the frames', () => {
    const { net, peers, inbox, p } = setup({ seed: 11, loss: 0.3 })
    for (let i = 0; i < 2000; i++) peers.a.send(p('b'), bytes(i & 0xff))
    net.runUntilIdle()
    const got = inbox('b').length
    expect(got / 2000).toBeGreaterThan(0.62)
    expect(got / 2000).toBeLessThan(0.78)
    expect(net.stats).toEqual({ sent: 2000, delivered: got, dropped: 2000 - got, duplicated: 0 })
  })

  it('duplicates frames: all of them at 1, about half at 0.5', () => {
    const all = setup({ seed: 2, duplicate: 1 })
    for (let i = 0; i < 10; i++) all.peers.a.send(all.p('b'), bytes(i))
    all.net.runUntilIdle()
    expect(all.inbox('b')).toHaveLength(20)
    expect([...new Set(firstByte(all.inbox('b')))].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(all.net.stats).toEqual({ sent: 10, delivered: 20, dropped: 0, duplicated: 10 })

    const half = setup({ seed: 3, duplicate: 0.5 })
    for (let i = 0; i < 1000; i++) half.peers.a.send(half.p('b'), bytes(i & 0xff))
    half.net.runUntilIdle()
    const { duplicated, delivered } = half.net.stats
    expect(duplicated).toBeGreaterThan(420)
    expect(duplicated).toBeLessThan(580)
    expect(delivered).toBe(1000 + duplicated)
  })

  it('keeps each link FIFO without reordering, even with jittered latency', () => {
    const { net, peers, inbox, p } = setup({ seed: 4, latency: { min: 1, max: 80 } })
    for (let i = 0; i < 200; i++) {
      peers.a.send(p('b'), bytes(i))
      net.runFor(i % 3) // frames overlap in flight
    }
    net.runUntilIdle()
    expect(firstByte(inbox('b'))).toEqual(Array.from({ length: 200 }, (_, i) => i))
  })

  it('reorders frames when `reorder` is set', () => {
    const { net, peers, inbox, p } = setup({ seed: 4, latency: { min: 1, max: 10 }, reorder: 0.3 })
    for (let i = 0; i < 200; i++) { peers.a.send(p('b'), bytes(i)); net.runFor(1) }
    net.runUntilIdle()
    const order = firstByte(inbox('b'))
    expect([...order].sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i)) // nothing lost
    const inversions = order.filter((x, i) => i > 0 && x < order[i - 1]).length
    expect(inversions).toBeGreaterThan(10)
    expect(net.trace().some((e) => e.type === 'schedule' && e.reordered)).toBe(true)
  })

  it('applies per-link options to one direction only', () => {
    const { net, peers, inbox, p } = setup({ latency: { min: 5, max: 5 } })
    net.setLinkOptions('a', 'b', { loss: 1 })
    net.setLinkOptions('a', 'c', { latency: { min: 100, max: 100 } })
    peers.a.send(p('b'), bytes(1))
    peers.b.send(p('a'), bytes(2))
    peers.a.send(p('c'), bytes(3))
    net.runFor(50)
    expect(inbox('b')).toHaveLength(0)
    expect(firstByte(inbox('a'))).toEqual([2])
    expect(inbox('c')).toHaveLength(0)
    net.runFor(50)
    expect(firstByte(inbox('c'))).toEqual([3])
    net.setLinkOptions('a', 'b', {}) // back to the defaults
    peers.a.send(p('b'), bytes(4))
    net.runUntilIdle()
    expect(firstByte(inbox('b'))).toEqual([4])
    net.setOptions({ loss: 1 })
    peers.b.send(p('a'), bytes(5))
    net.runUntilIdle()
    expect(firstByte(inbox('a'))).toEqual([2])
  })

  it('rejects bad options with InvalidArgumentError', () => {
    const bad: Array<ConstructorParameters<typeof InMemoryNetwork>[0]> = [
      { loss: 1.5 }, { duplicate: -0.1 }, { reorder: Number.NaN }, { latency: { min: 5, max: 1 } },
      { latency: { min: -1, max: 1 } }, { latency: { min: 0, max: Infinity } }, { seed: 1.5 },
      { maxFrameSize: -1 }, { traceLimit: -1 }, { traceLimit: 2.5 }
    ]
    for (const options of bad) expect(() => new InMemoryNetwork(options), JSON.stringify(options)).toThrow(InvalidArgumentError)
    const net = new InMemoryNetwork()
    expect(() => net.setOptions({ loss: 2 })).toThrow(InvalidArgumentError)
    expect(() => net.setLinkOptions('a', 'b', { latency: { min: 3, max: 2 } })).toThrow(InvalidArgumentError)
    expect(() => net.partition(['a', 'b'], ['b'])).toThrow(InvalidArgumentError)
    expect(() => net.crash('a')).toThrow(InvalidArgumentError)
    expect(() => net.runTo(Number.NaN)).toThrow(InvalidArgumentError)
    const a = net.createTransport('a')
    net.createTransport('b')
    expect(() => net.createTransport('a')).toThrow(InvalidArgumentError)
    expect(() => net.createTransport('')).toThrow(InvalidArgumentError)
    expect(() => a.send(a.id, bytes(1))).toThrow(InvalidArgumentError)
    expect(() => a.send(peerId('b'), [1, 2] as unknown as Uint8Array)).toThrow(InvalidArgumentError)
    const small = new InMemoryNetwork({ maxFrameSize: 4 })
    const s = small.createTransport('s')
    expect(() => s.send(peerId('t'), new Uint8Array(5))).toThrow(InvalidArgumentError)
    expect(() => s.broadcast(new Uint8Array(5))).toThrow(InvalidArgumentError)
  })
})

describe('InMemoryNetwork: partitions and blocks', () => {
  const exchange = (net: InMemoryNetwork, peers: Record<string, Transport>) => {
    const ids = Object.keys(peers)
    for (const x of ids) for (const y of ids) if (x !== y) peers[x].send(peerId(y), new TextEncoder().encode(x + y))
    net.runUntilIdle()
  }
  const pairs = (net: InMemoryNetwork, inbox: (id: string) => Received[], ids: string[]) =>
    ids.flatMap((id) => inbox(id).splice(0).map((m) => `${m.from}${id}`)).sort()

  it('a symmetric partition cuts both ways, and heal restores every link', () => {
    const { net, peers, inbox } = setup({}, ['a', 'b', 'c', 'd'])
    net.partition(['a', 'b'], ['c'])
    expect(net.canReach('a', 'c')).toBe(false)
    expect(net.canReach('c', 'a')).toBe(false)
    exchange(net, peers)
    // d is in no group: it forms a group of its own
    expect(pairs(net, inbox, ['a', 'b', 'c', 'd'])).toEqual(['ab', 'ba'])
    net.partition(['a'])
    exchange(net, peers)
    expect(pairs(net, inbox, ['a', 'b', 'c', 'd'])).toEqual(['bc', 'bd', 'cb', 'cd', 'db', 'dc'])
    net.heal()
    exchange(net, peers)
    expect(pairs(net, inbox, ['a', 'b', 'c', 'd'])).toHaveLength(12)
    // peers are never told about a partition
    expect(peers.a.peers().sort()).toEqual(['b', 'c', 'd'])
  })

  it('a one-way block cuts only its direction', () => {
    const { net, peers, inbox } = setup()
    net.block('a', 'b')
    expect(net.canReach('a', 'b')).toBe(false)
    expect(net.canReach('b', 'a')).toBe(true)
    exchange(net, peers)
    expect(pairs(net, inbox, ['a', 'b', 'c'])).toEqual(['ac', 'ba', 'bc', 'ca', 'cb'])
    net.unblock('a', 'b')
    exchange(net, peers)
    expect(pairs(net, inbox, ['a', 'b', 'c'])).toHaveLength(6)
    net.block('c', 'a')
    net.block('b', 'a')
    net.heal()
    exchange(net, peers)
    expect(pairs(net, inbox, ['a', 'b', 'c'])).toHaveLength(6)
  })

  it('drops frames already in flight when a cut appears before they arrive', () => {
    const { net, peers, inbox, p } = setup({ latency: { min: 20, max: 20 } })
    peers.a.send(p('b'), bytes(1))
    peers.a.send(p('c'), bytes(2))
    net.runFor(10)
    net.partition(['a', 'c'], ['b'])
    net.runUntilIdle()
    expect(inbox('b')).toHaveLength(0)
    expect(firstByte(inbox('c'))).toEqual([2])
    expect(net.trace().filter((e) => e.type === 'drop')).toMatchObject([{ reason: 'partition', from: 'a', to: 'b' }])
  })
})

describe('InMemoryNetwork: peers, close, crash and restart', () => {
  it('announces joins through the scheduler, to both sides', () => {
    const net = new InMemoryNetwork()
    const a = net.createTransport('a')
    const seen: string[] = []
    a.on('peer-joined', (peer) => seen.push(`a+${peer}`))
    const b = net.createTransport('b')
    b.on('peer-joined', (peer) => seen.push(`b+${peer}`))
    expect(seen).toEqual([])
    expect(a.peers()).toEqual([])
    net.runUntilIdle()
    expect(seen.sort()).toEqual(['a+b', 'b+a'])
    expect(a.peers()).toEqual(['b'])
    expect(net.peers()).toEqual(['a', 'b'])
    expect(net.getTransport('b')).toBe(b)
    expect(net.getTransport('zz')).toBeUndefined()
  })

  it('broadcast reaches every joined peer, not the sender', () => {
    const { net, peers, inbox } = setup({}, ['a', 'b', 'c', 'd'])
    peers.a.broadcast(bytes(7))
    net.runUntilIdle()
    expect(inbox('a')).toEqual([])
    for (const id of ['b', 'c', 'd']) expect(inbox(id)).toMatchObject([{ from: 'a', bytes: [7] }])
    expect(net.stats.sent).toBe(3)
    // a newcomer is not a broadcast target until its join is announced
    const e = net.createTransport('e')
    let got = 0
    e.on('message', () => got++)
    peers.a.broadcast(bytes(8))
    net.runUntilIdle()
    expect(got).toBe(0)
    peers.a.broadcast(bytes(9))
    net.runUntilIdle()
    expect(got).toBe(1)
  })

  it('close: emits close once, throws TransportClosedError on send, others hear peer-left after its frames', async () => {
    const { net, peers, inbox, p } = setup({ latency: { min: 10, max: 10 } })
    const closes: unknown[][] = []
    const order: string[] = []
    peers.a.on('close', (...args) => closes.push(args))
    peers.b.on('peer-left', (peer) => order.push(`left:${peer}`))
    peers.b.on('message', (from) => order.push(`msg:${from}`))
    peers.c.send(p('a'), bytes(1)) // in flight to a: lost
    peers.a.send(p('b'), bytes(2)) // in flight from a: still arrives
    await peers.a.close()
    await peers.a.close()
    expect(closes).toEqual([[]])
    expect(() => peers.a.send(p('b'), bytes(3))).toThrow(TransportClosedError)
    expect(() => peers.a.broadcast(bytes(3))).toThrow(TransportClosedError)
    net.runUntilIdle()
    expect(order).toEqual(['msg:a', 'left:a'])
    expect(inbox('a')).toEqual([])
    expect(peers.c.peers()).toEqual(['b'])
    expect(net.peers()).toEqual(['b', 'c'])
    expect(net.trace().filter((e) => e.type === 'drop')).toMatchObject([{ reason: 'receiver-gone', from: 'c', to: 'a' }])
  })

  it('crash: loses frames to and from the peer, cancels its timers; restart brings a fresh transport', () => {
    const { net, peers, inbox, p } = setup({ latency: { min: 10, max: 10 } })
    const closes: unknown[] = []
    peers.a.on('close', (err) => closes.push(err))
    const left: string[] = []
    peers.b.on('peer-left', (peer) => left.push(peer))
    const joined: string[] = []
    peers.b.on('peer-joined', (peer) => joined.push(peer))
    let timerFired = false
    net.clockFor('a').setTimeout(() => { timerFired = true }, 5)
    peers.a.send(p('b'), bytes(1))
    peers.c.send(p('a'), bytes(2))
    net.crash('a')
    expect(closes).toHaveLength(1)
    expect(closes[0]).toBeInstanceOf(TransportClosedError)
    expect(() => peers.a.send(p('b'), bytes(3))).toThrow(TransportClosedError)
    // a stale clock sets no new timers
    net.clockFor('b') // other peers' clocks are unaffected
    net.runUntilIdle()
    expect(timerFired).toBe(false)
    expect(inbox('b')).toEqual([])
    expect(inbox('a')).toEqual([])
    expect(left).toEqual(['a'])
    expect(net.peers()).toEqual(['b', 'c'])
    expect(net.stats).toMatchObject({ sent: 2, delivered: 0, dropped: 2 })
    expect(() => net.crash('a')).toThrow(InvalidArgumentError)

    const a2 = net.restart('a')
    expect(a2).not.toBe(peers.a)
    const got: number[] = []
    a2.on('message', (_from, frame) => got.push(frame[0]))
    net.runUntilIdle()
    expect(joined).toEqual(['a'])
    expect(a2.peers().sort()).toEqual(['b', 'c'])
    peers.b.send(p('a'), bytes(4))
    a2.send(p('b'), bytes(5))
    let fired = 0
    net.clockFor('a').setTimeout(() => fired++, 1)
    net.runUntilIdle()
    expect(got).toEqual([4])
    expect(firstByte(inbox('b'))).toEqual([5])
    expect(fired).toBe(1)
  })

  it('restart of an attached peer crashes it first; the old incarnation never receives again', () => {
    const { net, peers, inbox, p } = setup({ latency: { min: 10, max: 10 } })
    peers.b.send(p('a'), bytes(1)) // to the old a
    const events: string[] = []
    peers.c.on('peer-left', (x) => events.push(`left:${x}`))
    peers.c.on('peer-joined', (x) => events.push(`joined:${x}`))
    const a2 = net.restart('a')
    let got = 0
    a2.on('message', () => got++)
    net.runUntilIdle()
    expect(events).toEqual(['left:a', 'joined:a'])
    expect(got).toBe(0)
    expect(inbox('a')).toEqual([])
    expect(net.trace().filter((e) => e.type === 'attach').map((e) => e.type === 'attach' && e.incarnation)).toEqual([1, 2, 3, 4])
  })

  it('a timer set through clockFor fires normally while the peer lives', () => {
    const net = new InMemoryNetwork()
    net.createTransport('a')
    const clock = net.clockFor('a')
    const fired: number[] = []
    const h = clock.setTimeout(() => fired.push(clock.now()), 30)
    clock.setTimeout(() => fired.push(clock.now()), 20)
    clock.clearTimeout(h)
    net.runUntilIdle()
    expect(fired).toEqual([20])
  })
})

describe('InMemoryNetwork: bytes', () => {
  it('copies frames: mutating the sent buffer, or one delivered copy, changes nothing else', () => {
    const { net, peers, inbox } = setup({ seed: 1, duplicate: 1 })
    const frames: Uint8Array[] = []
    peers.c.on('message', (_from, frame) => { frames.push(frame); frame[0] = 99 })
    const buf = bytes(1, 2, 3)
    peers.a.broadcast(buf)
    buf[0] = 42
    buf.fill(0)
    net.runUntilIdle()
    expect(inbox('b').map((m) => m.bytes)).toEqual([[1, 2, 3], [1, 2, 3]])
    // c's listener scribbled on each frame it got, after the logging listener copied it
    expect(inbox('c').map((m) => m.bytes)).toEqual([[1, 2, 3], [1, 2, 3]])
    expect(frames).toHaveLength(2)
    expect(frames[0]).not.toBe(frames[1])
  })

  it('delivers a view over the frame only, not the sender\'s whole buffer', () => {
    const { net, peers, p } = setup()
    const backing = new Uint8Array([9, 9, 1, 2, 9])
    let got: Uint8Array | undefined
    peers.b.on('message', (_from, frame) => { got = frame })
    peers.a.send(p('b'), backing.subarray(2, 4))
    net.runUntilIdle()
    expect(got).toEqual(new Uint8Array([1, 2]))
    expect(got!.byteOffset).toBe(0)
    expect(got!.buffer.byteLength).toBe(2)
  })
})

describe('InMemoryNetwork: trace and determinism', () => {
  /** A random script of sends, faults, crashes and restarts; returns the trace and what every peer received. */
  const script = (seed: number, scriptSeed = 99) => {
    const net = new InMemoryNetwork({ seed, latency: { min: 1, max: 30 }, loss: 0.1, duplicate: 0.1, reorder: 0.2, traceLimit: Infinity })
    const rnd = new Prng(scriptSeed)
    const ids = ['a', 'b', 'c', 'd']
    const received: string[] = []
    const attach = (id: string) => {
      const t = net.createTransport(id)
      t.on('message', (from, frame) => received.push(`${net.clock.now()} ${from}->${id} ${[...frame].join(',')}`))
      t.on('peer-joined', (x) => received.push(`${net.clock.now()} ${id}+${x}`))
      t.on('peer-left', (x) => received.push(`${net.clock.now()} ${id}-${x}`))
    }
    ids.forEach(attach)
    for (let step = 0; step < 300; step++) {
      const live = net.peers()
      const r = rnd.next()
      if (r < 0.02 && live.length > 2) net.crash(rnd.pick(live))
      else if (r < 0.05) { const down = ids.filter((x) => !live.includes(peerId(x))); if (down.length > 0) attach(rnd.pick(down)) }
      else if (r < 0.07) net.partition(rnd.shuffle([...ids]).slice(0, 2))
      else if (r < 0.08) net.block(rnd.pick(ids), rnd.pick(ids))
      else if (r < 0.10) net.heal()
      else if (live.length > 1) {
        const from = net.getTransport(rnd.pick(live))!
        const frame = new Uint8Array(rnd.int(0, 6)).map(() => rnd.int(0, 255))
        if (rnd.bool(0.2)) from.broadcast(frame)
        else from.send(rnd.pick(live.filter((x) => x !== from.id)), frame)
      }
      net.runFor(rnd.int(0, 10))
    }
    net.runUntilIdle()
    return { trace: net.trace(), received, stats: net.stats }
  }

  it('the same seed and script give the same trace and the same deliveries, byte for byte', () => {
    const one = script(7)
    const two = script(7)
    expect(one.trace.length).toBeGreaterThan(500)
    expect(two.trace).toEqual(one.trace)
    expect(two.received).toEqual(one.received)
    expect(two.stats).toEqual(one.stats)
    const types = new Set(one.trace.map((e) => e.type))
    for (const t of ['attach', 'send', 'schedule', 'duplicate', 'deliver', 'drop', 'crash', 'partition', 'block', 'heal'] as const) {
      expect(types, t).toContain(t)
    }
  })

  it('different seeds give different schedules', () => {
    const a = script(7)
    const b = script(8)
    expect(b.trace).not.toEqual(a.trace)
    expect(b.received).not.toEqual(a.received)
  })

  it('keeps the last traceLimit events, streams all to onTrace, and formats them', () => {
    const streamed: TraceEvent[] = []
    const { net, peers, p } = setup({ traceLimit: 3, onTrace: (e) => streamed.push(e), latency: { min: 2, max: 2 } })
    peers.a.send(p('b'), bytes(1, 2))
    net.block('a', 'c')
    peers.a.send(p('c'), bytes(3))
    net.runUntilIdle()
    expect(streamed.map((e) => e.type)).toEqual(['attach', 'attach', 'attach', 'send', 'schedule', 'block', 'send', 'drop', 'deliver'])
    expect(net.trace()).toEqual(streamed.slice(-3))
    const lines = net.formatTrace().split('\n')
    expect(lines).toHaveLength(3)
    expect(lines[1]).toBe('t=0 #2 drop a->c (partition)')
    expect(lines[2]).toMatch(/^t=2 #1 deliver a->b 2B [0-9a-f]{8}$/)
    expect(net.formatTrace(1)).toBe(lines[2])
    expect(formatTraceEvent({ type: 'partition', time: 1.23456, groups: [[p('a')], [p('b'), p('c')]] })).toBe('t=1.235 partition [a] [b,c]')
    expect(formatTraceEvent({ type: 'partition', time: 0, groups: [] })).toBe('t=0 partition (none)')

    const off = new InMemoryNetwork({ traceLimit: 0 })
    off.createTransport('x')
    expect(off.trace()).toEqual([])
  })
})

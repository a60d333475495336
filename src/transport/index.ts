/**
 * `aegis-replication/transport`: the {@link Transport} contract the cores
 * talk through, and the seeded {@link InMemoryNetwork} every simulation test
 * runs on (latency, loss, duplication, reordering, partitions, one-way
 * blocks, crashes and restarts, on a {@link VirtualClock}, with stats and an
 * event trace).
 *
 * ```ts
 * import { InMemoryNetwork, peerId } from 'aegis-replication/transport'
 * const net = new InMemoryNetwork({ seed: 1, loss: 0.05 })
 * const a = net.createTransport(peerId('a'))
 * const b = net.createTransport(peerId('b'))
 * b.on('message', (from, frame) => console.log(`${from} sent ${frame.length} bytes`))
 * net.runUntilIdle()          // joins are announced
 * a.broadcast(new Uint8Array([42]))
 * net.partition(['a'], ['b']) // …or net.block('a', 'b'), net.crash('a')
 * net.heal()
 * net.runUntilIdle()
 * console.log(net.stats, net.formatTrace(10))
 * ```
 *
 * @module
 */

// The contract
export { peerId } from './transport.js'
export type { PeerId, Transport, TransportEvents } from './transport.js'

// The simulated network
export { InMemoryNetwork } from './in-memory-network.js'
export type { NetworkStats } from './in-memory-network.js'
export { DEFAULT_LINK_OPTIONS, DEFAULT_MAX_FRAME_SIZE, DEFAULT_TRACE_LIMIT } from './in-memory-network-options.js'
export type { InMemoryNetworkOptions, LinkOptions, LatencyRange, ResolvedLinkOptions } from './in-memory-network-options.js'

// Its trace
export { formatTraceEvent } from './network-trace.js'
export type { TraceEvent, FrameTraceEvent, NetworkTraceEvent, DropReason } from './network-trace.js'

// Virtual time
export { VirtualClock, drainMicrotasks, DEFAULT_MAX_STEPS, DEFAULT_MAX_STEPS_PER_RUN } from './virtual-clock.js'
export type { VirtualClockOptions } from './virtual-clock.js'
export type { ScheduledEvent } from './event-queue.js'

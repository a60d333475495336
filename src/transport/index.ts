/**
 * `aegis-replication/transport`: the {@link Transport} contract the cores
 * talk through, and the seeded {@link InMemoryNetwork} every simulation test
 * runs on.
 *
 * ```ts
 * import { InMemoryNetwork, peerId } from 'aegis-replication/transport'
 * const net = new InMemoryNetwork({ seed: 1, loss: 0.05 })
 * const a = net.createTransport(peerId('a'))
 * const b = net.createTransport(peerId('b'))
 * b.on('message', (from, frame) => console.log(`${from} sent ${frame.length} bytes`))
 * net.runUntilIdle()
 * a.broadcast(new Uint8Array([42]))
 * net.runUntilIdle()
 * ```
 *
 * @module
 */
export { peerId } from './transport.js'
export type { PeerId, Transport, TransportEvents } from './transport.js'
export { InMemoryNetwork } from './in-memory-network.js'
export type { NetworkStats } from './in-memory-network.js'
export type { InMemoryNetworkOptions, LinkOptions, LatencyRange } from './in-memory-network-options.js'
export { VirtualClock, drainMicrotasks } from './virtual-clock.js'
export type { VirtualClockOptions } from './virtual-clock.js'

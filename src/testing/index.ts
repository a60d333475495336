/**
 * `aegis-replication/testing`: helpers for randomized, reproducible tests —
 * a seeded {@link Prng} and {@link runSeeds}, which runs a test body over
 * many seeds and prints a replay command for the one that fails.
 *
 * ```ts
 * import { runSeeds } from 'aegis-replication/testing'
 * import { InMemoryNetwork } from 'aegis-replication/transport'
 * runSeeds(20, (seed, prng) => {
 *   const net = new InMemoryNetwork({ seed, loss: prng.next() * 0.2 })
 *   // …drive peers over `net`, then assert they converged
 * }, { env: process.env })
 * ```
 *
 * @module
 */
export { Prng } from './prng.js'
export { forEachSeed, runSeeds, resolveSeeds, replayCommand, DEFAULT_SEED_COUNT } from './run-seeds.js'
export type { SeedOptions, SeededTest } from './run-seeds.js'

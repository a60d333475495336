// Hashing benchmark: HashRing lookups against the `hashring` npm package
// (ketama, md5), balance and movement of three rings, JumpHash and Rendezvous
// throughput.
//
//   node bench/hash.bench.mjs [path/to/built/index.js]   (default: dist/index.js)
//
// or from a runner: `const { run } = await import('./hash.bench.mjs'); await run(lib)`.
import HashRingPkg from 'hashring'

const NODES = Array.from({ length: 10 }, (_, i) => `node-${i}`)
const NEW_NODE = 'node-10'
const KEY_COUNT = 1_000_000
const IDEAL_MOVED = 1 / 11

const makeKeys = (n) => Array.from({ length: n }, (_, i) => `key-${i}`)

/** Best of `rounds` timed passes of `fn(keys)` after one warm-up pass; returns ops/s. */
const rate = (fn, keys, rounds = 3) => {
  fn(keys.slice(0, 200_000)) // warm-up: lets the JIT settle
  let best = Infinity
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now()
    fn(keys)
    best = Math.min(best, performance.now() - t0)
  }
  return keys.length / (best / 1000)
}

/**
 * The plain ring, for comparison: 150 points per node at XXH32(`node-k`), a
 * key owned by the next point clockwise.
 */
const plainRing = (lib, nodes, vnodes = 150) => {
  const all = []
  for (const node of nodes) for (let k = 0; k < vnodes; k++) all.push([lib.xxh32(`${node}-${k}`), node])
  all.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
  const points = Uint32Array.from(all, (a) => a[0])
  const owners = all.map((a) => a[1])
  return {
    get (key) {
      const x = lib.xxh32(key)
      let lo = 0
      let hi = points.length
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (points[mid] < x) lo = mid + 1
        else hi = mid
      }
      return owners[lo === points.length ? 0 : lo]
    }
  }
}

/** Peak/mean load over the 10 nodes and the share of keys that move when an 11th joins. */
const measure = (get10, get11, keys) => {
  const load = new Map(NODES.map((n) => [n, 0]))
  let moved = 0
  let movedElsewhere = 0
  for (const key of keys) {
    const a = get10(key)
    load.set(a, load.get(a) + 1)
    const b = get11(key)
    if (a !== b) {
      moved++
      if (b !== NEW_NODE) movedElsewhere++
    }
  }
  const peak = Math.max(...load.values()) / (keys.length / NODES.length)
  return { peakToMean: peak, moved: moved / keys.length, movedRatioToIdeal: moved / keys.length / IDEAL_MOVED, movedBetweenOldNodes: movedElsewhere }
}

const fmt = (x, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

/**
 * @param {any} lib the built module namespace (HashRing, Rendezvous, JumpHash, xxh32, xxh64Into)
 */
export async function run (lib) {
  const keys = makeKeys(KEY_COUNT)

  // --- lookups/s: same 10 nodes, 1e6 distinct keys
  const ours = new lib.HashRing()
  for (const n of NODES) ours.addNode(n)
  const theirs = new HashRingPkg(NODES)
  let sink = 0
  const oursRate = rate((ks) => { for (const k of ks) if (ours.getNode(k) === 'node-0') sink++ }, keys)
  const theirsRate = rate((ks) => { for (const k of ks) if (theirs.get(k) === 'node-0') sink++ }, keys)
  const getNodesRate = rate((ks) => { for (const k of ks) sink += ours.getNodes(k, 3).length }, keys)

  // --- balance and movement
  const ours11 = new lib.HashRing()
  for (const n of [...NODES, NEW_NODE]) ours11.addNode(n)
  const plain10 = plainRing(lib, NODES)
  const plain11 = plainRing(lib, [...NODES, NEW_NODE])
  const theirs11 = new HashRingPkg([...NODES, NEW_NODE])
  const probe1 = new lib.HashRing(150, { probes: 1 })
  const probe1x11 = new lib.HashRing(150, { probes: 1 })
  for (const n of NODES) { probe1.addNode(n); probe1x11.addNode(n) }
  probe1x11.addNode(NEW_NODE)
  const balance = {
    ours: measure((k) => ours.getNode(k), (k) => ours11.getNode(k), keys),
    oursOneProbe: measure((k) => probe1.getNode(k), (k) => probe1x11.getNode(k), keys),
    plain150: measure(plain10.get, plain11.get, keys),
    hashring: measure((k) => theirs.get(k), (k) => theirs11.get(k), keys)
  }

  // --- JumpHash and Rendezvous
  const jumpStringRate = rate((ks) => { for (const k of ks) sink += lib.JumpHash.hash(k, 16) }, keys)
  const ints = Array.from({ length: KEY_COUNT }, (_, i) => i * 2654435761)
  const jumpIntRate = rate((ks) => { for (const k of ks) sink += lib.JumpHash.hash(k, 1000) }, ints)
  const hrw = new lib.Rendezvous()
  for (const n of NODES) hrw.addNode(n)
  const hrwRate = rate((ks) => { for (const k of ks) if (hrw.getNode(k) === 'node-0') sink++ }, keys)
  const hrwWeighted = new lib.Rendezvous()
  NODES.forEach((n, i) => hrwWeighted.addNode(n, 1 + (i % 3)))
  const hrwWeightedRate = rate((ks) => { for (const k of ks) if (hrwWeighted.getNode(k) === 'node-0') sink++ }, keys)
  const xxh32Rate = rate((ks) => { for (const k of ks) sink ^= lib.xxh32(k) }, keys)
  const out = new Uint32Array(2)
  const xxh64Rate = rate((ks) => { for (const k of ks) sink ^= lib.xxh64Into(k, out)[1] }, keys)

  const results = {
    lookupsPerSec: { ours: oursRate, hashring: theirsRate, ratio: oursRate / theirsRate, oursGetNodes3: getNodesRate },
    balance,
    jumpHashPerSec: { stringKeys: jumpStringRate, integerKeys: jumpIntRate },
    rendezvousPerSec: { equalWeights: hrwRate, weighted: hrwWeightedRate },
    hashPerSec: { xxh32: xxh32Rate, xxh64: xxh64Rate },
    sink
  }

  console.log(`\nHashing: 10 nodes (node-0..node-9), ${fmt(KEY_COUNT)} keys (key-0..), best of 3 after warm-up`)
  console.table({
    'HashRing.getNode (ours)': { 'ops/s': fmt(oursRate) },
    'hashring .get (npm, md5)': { 'ops/s': fmt(theirsRate) },
    'ours / hashring': { 'ops/s': `${fmt(oursRate / theirsRate, 1)}x` },
    'HashRing.getNodes(k, 3)': { 'ops/s': fmt(getNodesRate) },
    'JumpHash.hash(string, 16)': { 'ops/s': fmt(jumpStringRate) },
    'JumpHash.hash(int, 1000)': { 'ops/s': fmt(jumpIntRate) },
    'Rendezvous.getNode (equal weights)': { 'ops/s': fmt(hrwRate) },
    'Rendezvous.getNode (weights 1-3)': { 'ops/s': fmt(hrwWeightedRate) },
    xxh32: { 'ops/s': fmt(xxh32Rate) },
    xxh64: { 'ops/s': fmt(xxh64Rate) }
  })
  const row = (r) => ({ 'peak/mean (10 nodes)': fmt(r.peakToMean, 3), 'moved when 11th joins': fmt(r.moved, 4), 'moved / ideal 1/11': fmt(r.movedRatioToIdeal, 3), 'moved between old nodes': r.movedBetweenOldNodes })
  console.table({
    'ours (jittered, 2 probes)': row(balance.ours),
    'ours, probes: 1': row(balance.oursOneProbe),
    'plain ring, 150 random vnodes': row(balance.plain150),
    'hashring (npm, 160 points)': row(balance.hashring)
  })
  return results
}

const isMain = typeof process !== 'undefined' && process.argv[1] !== undefined &&
  import.meta.url === (await import('node:url')).pathToFileURL(process.argv[1]).href
if (isMain) {
  const { resolve } = await import('node:path')
  const { pathToFileURL } = await import('node:url')
  const target = resolve(process.argv[2] ?? new URL('../dist/index.js', import.meta.url).pathname)
  await run(await import(pathToFileURL(target).href))
}

// (e) Hashing: HashRing lookups against the `hashring` npm package (ketama,
// md5), balance and movement of our ring, a plain 150-vnode ring and
// hashring, JumpHash, Rendezvous and xxHash throughput.
//
// Ours and `hashring` each run in a fresh process of their own (harness.mjs).
//
//   node --expose-gc bench/hash.bench.mjs     (or --contender aegis|hashring --json: one side, here)
import HashRingPkg from 'hashring'
import { check, fmt, table, versionOf } from './util.mjs'
import { QUICK, suiteMain } from './harness.mjs'

const NODES = Array.from({ length: 10 }, (_, i) => `node-${i}`)
const NEW_NODE = 'node-10'
const KEY_COUNT = QUICK ? 100_000 : 1_000_000
const IDEAL_MOVED = 1 / 11
/** Extra node-name sets for the mean balance figures (`set-<t>-node-<i>`). */
const NAME_SETS = 10
const TWO32 = 4294967296

const makeKeys = (n) => Array.from({ length: n }, (_, i) => `key-${i}`)

/** Best of `rounds` timed passes of `fn(keys)` after one warm-up pass; returns ops/s. */
const rate = (fn, keys, rounds = 3) => {
  fn(keys.slice(0, 200_000)) // warm-up: lets the JIT settle
  if (QUICK) rounds = 1
  let best = Infinity
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now()
    fn(keys)
    best = Math.min(best, performance.now() - t0)
  }
  return keys.length / (best / 1000)
}

/**
 * The plain ring, for comparison: 150 points per node at XXH32(`<node>-<k>`),
 * a key owned by the next point clockwise.
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
    },
    /** Exact peak/mean share: each point owns the arc before it. */
    exactPeakToMean () {
      const share = new Map(nodes.map((n) => [n, 0]))
      for (let i = 0; i < points.length; i++) {
        const arc = i === 0 ? points[0] + TWO32 - points[points.length - 1] : points[i] - points[i - 1]
        share.set(owners[i], share.get(owners[i]) + arc)
      }
      return Math.max(...share.values()) / (TWO32 / nodes.length)
    }
  }
}

/** Peak/mean load over `nodes` of `get` on `keys`. */
const peakToMean = (get, nodes, keys) => {
  const load = new Map(nodes.map((n) => [n, 0]))
  for (const key of keys) { const a = get(key); load.set(a, load.get(a) + 1) }
  return Math.max(...load.values()) / (keys.length / nodes.length)
}

/** Peak/mean over the 10 nodes and the share of keys that move when an 11th joins. */
const measureMoves = (get10, get11, keys) => {
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

const ring = (lib, nodes, vnodes = 150, options = {}) => {
  const r = new lib.HashRing(vnodes, options)
  for (const n of nodes) r.addNode(n)
  return r
}

export const title = '(e) hashing'

/** Ours, then the npm `hashring`: a process each. */
export const jobs = () => [{ contender: 'aegis' }, { contender: 'hashring' }]

/** `hashring`'s lookups/s and balance; or every figure of ours. */
export async function measure ({ contender }) {
  const keys = makeKeys(KEY_COUNT)
  let sink = 0
  if (contender === 'hashring') {
    const theirs = new HashRingPkg(NODES)
    const theirsRate = rate((ks) => { for (const k of ks) if (theirs.get(k) === 'node-0') sink++ }, keys)
    const theirs11 = new HashRingPkg([...NODES, NEW_NODE])
    const balance = measureMoves((k) => theirs.get(k), (k) => theirs11.get(k), keys)
    check(balance.movedBetweenOldNodes === 0, 'a key moved between old nodes')
    return { rate: theirsRate, balance, sink }
  }
  const lib = await import(new URL('../dist/index.js', import.meta.url).href)

  // --- lookups/s: same 10 nodes, 1e6 distinct keys
  const ours = ring(lib, NODES)
  const oursRate = rate((ks) => { for (const k of ks) if (ours.getNode(k) === 'node-0') sink++ }, keys)
  const getNodesRate = rate((ks) => { for (const k of ks) sink += ours.getNodes(k, 3).length }, keys)

  // --- balance and movement on node-0..node-9 (+ node-10)
  const ours11 = ring(lib, [...NODES, NEW_NODE])
  const probe1 = ring(lib, NODES, 150, { probes: 1 })
  const probe1x11 = ring(lib, [...NODES, NEW_NODE], 150, { probes: 1 })
  const plain10 = plainRing(lib, NODES)
  const plain11 = plainRing(lib, [...NODES, NEW_NODE])
  const balance = {
    ours: measureMoves((k) => ours.getNode(k), (k) => ours11.getNode(k), keys),
    oursOneProbe: measureMoves((k) => probe1.getNode(k), (k) => probe1x11.getNode(k), keys),
    plain150: measureMoves(plain10.get, plain11.get, keys)
  }
  for (const b of Object.values(balance)) check(b.movedBetweenOldNodes === 0, 'a key moved between old nodes')
  check(new Set(NODES.map((n) => ours.getNode(n))).size > 1, 'ring answers vary')

  // --- the same over NAME_SETS other node-name sets: mean and worst
  const sets = Array.from({ length: NAME_SETS }, (_, t) => NODES.map((_, i) => `set-${t}-node-${i}`))
  const stats = (xs) => ({ mean: xs.reduce((a, b) => a + b, 0) / xs.length, worst: Math.max(...xs) })
  const ringSets = (options) => {
    const runs = sets.map((ns) => {
      const r10 = ring(lib, ns, 150, options)
      const r11 = ring(lib, [...ns, `${ns[0]}-new`], 150, options)
      const peak = peakToMean((k) => r10.getNode(k), ns, keys)
      let moved = 0
      for (const k of keys) if (r10.getNode(k) !== r11.getNode(k)) moved++
      return { peak, movedRatio: moved / keys.length / IDEAL_MOVED }
    })
    return { peakToMean: stats(runs.map((r) => r.peak)), movedRatioToIdeal: stats(runs.map((r) => r.movedRatio)) }
  }
  const overSets = {
    ours: ringSets({}),
    oursOneProbe: ringSets({ probes: 1 }),
    plain150: { peakToMean: stats(sets.map((ns) => plainRing(lib, ns).exactPeakToMean())) }
  }

  // --- JumpHash, Rendezvous, xxHash
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
  return { oursRate, getNodesRate, balance, overSets, jumpStringRate, jumpIntRate, hrwRate, hrwWeightedRate, xxh32Rate, xxh64Rate, sink }
}

/** The `## (e) Hashing` section. */
export function render (outs) {
  const ourSide = outs.find((o) => o.job.contender === 'aegis').result
  const theirSide = outs.find((o) => o.job.contender === 'hashring').result
  const { oursRate, getNodesRate, overSets, jumpStringRate, jumpIntRate, hrwRate, hrwWeightedRate, xxh32Rate, xxh64Rate } = ourSide
  const theirsRate = theirSide.rate
  const balance = { ...ourSide.balance, hashring: theirSide.balance }
  const ops = (x) => `${fmt(x / 1e6, 2)} M`
  const row = (label, b, sets) => [label, fmt(b.peakToMean, 3),
    sets === undefined ? '—' : `${fmt(sets.peakToMean.mean, 3)} / ${fmt(sets.peakToMean.worst, 3)}`,
    `${fmt(b.moved * 100, 2)} %`, `${fmt(b.movedRatioToIdeal, 2)}×`,
    sets?.movedRatioToIdeal === undefined ? '—' : `${fmt(sets.movedRatioToIdeal.mean, 2)}× / ${fmt(sets.movedRatioToIdeal.worst, 2)}×`,
    fmt(b.movedBetweenOldNodes)]
  return [
    '## (e) Hashing',
    '',
    `10 nodes \`node-0\`…\`node-9\`, ${fmt(KEY_COUNT)} distinct keys \`key-<i>\`; ops/s is the best of 3 passes after a warm-up. Ours and \`hashring\` each run in a fresh process. \`hashring\` ${versionOf('hashring')} is the npm ketama ring (md5, 160 points per node, LRU cache that distinct keys miss).`,
    '',
    table(['', 'lookups/s', 'vs hashring'], [
      ['`HashRing.getNode` (ours)', ops(oursRate), `${fmt(oursRate / theirsRate, 1)}×`],
      ['`hashring.get`', ops(theirsRate), '1×'],
      ['`HashRing.getNodes(key, 3)` (ours)', ops(getNodesRate), `${fmt(getNodesRate / theirsRate, 1)}×`]
    ]),
    '',
    `Balance (peak/mean load over the 10 nodes; 1 is perfect) and movement when \`node-10\` joins (ideal share 1/11 = ${fmt(IDEAL_MOVED * 100, 2)} %). "Mean / worst of ${NAME_SETS} name sets" repeats the measure with node names \`set-<t>-node-<i>\` (the 11th is \`set-<t>-node-0-new\`); the plain ring's balance there is exact, from its arc lengths. Targets: peak/mean ≤ 1.10, moved ≤ 1.2 × ideal, no key moved between old nodes.`,
    '',
    table(['ring', 'peak/mean', `peak/mean, mean / worst of ${NAME_SETS} name sets`, 'moved when 11th joins', 'moved / ideal', `moved / ideal, mean / worst of ${NAME_SETS}`, 'keys moved between old nodes'], [
      row('ours: jittered points, 2 probes (default)', balance.ours, overSets.ours),
      row('ours, `probes: 1`', balance.oursOneProbe, overSets.oursOneProbe),
      row('plain ring, 150 hashed vnodes per node', balance.plain150, overSets.plain150),
      row('`hashring` (ketama, 160 points)', balance.hashring)
    ]),
    '',
    table(['other operations', 'ops/s'], [
      ['`JumpHash.hash(stringKey, 16)` (XXH64 + jump)', ops(jumpStringRate)],
      ['`JumpHash.hash(integerKey, 1000)`', ops(jumpIntRate)],
      ['`Rendezvous.getNode`, 10 nodes, equal weights', ops(hrwRate)],
      ['`Rendezvous.getNode`, 10 nodes, weights 1–3', ops(hrwWeightedRate)],
      ['`xxh32(key)`', ops(xxh32Rate)],
      ['`xxh64Into(key, out)`', ops(xxh64Rate)]
    ])
  ].join('\n')
}

await suiteMain(import.meta.url, { jobs, measure, render })

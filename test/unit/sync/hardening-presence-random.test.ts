/** Issue 9, findings 1 and 6 at random: whatever members send and however they come and go, presence stays owned and bounded. */
import { describe, it } from 'vitest'
import { Doc } from '../../../src/doc/index.js'
import { Access, encodeAwarenessEntries, HubRoom, MessageType, type RoomPeer } from '../../../src/sync/index.js'

/** A small seeded generator (mulberry32). */
const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

describe('presence at random (findings 1 and 6)', () => {
  it('no member ever holds another\'s id, caps hold, join and leave never throw', async () => {
    const seed = Number(process.env.SEED ?? Date.now() % 1_000_000)
    const random = rng(seed)
    const pick = (n: number): number => Math.floor(random() * n)
    const room = new HubRoom('r', new Doc({ replicaId: 'hub' }), { append: async () => {} }, { presence: { maxPerConnection: 3, maxPerRoom: 8, maxStateBytes: 64 } })
    const members: RoomPeer[] = []
    // the model: who owns which id, and the states its owner sent for it
    const owner = new Map<number, RoomPeer>()
    const sent = new Map<number, Set<string>>()
    let n = 0
    try {
      for (let step = 0; step < 1500; step++) {
        const op = pick(10)
        if (op === 0 || members.length === 0) {
          const p: RoomPeer = { id: `p${n++}`, send: () => {} }
          members.push(p)
          await room.join(p, pick(2) === 0 ? Access.Read : Access.Write, new Doc().encodeStateVector())
        } else if (op === 1) {
          const p = members.splice(pick(members.length), 1)[0]
          room.leave(p)
          for (const [id, o] of owner) if (o === p) { owner.delete(id); sent.delete(id) }
        } else {
          const p = members[pick(members.length)]
          const entries = Array.from({ length: 1 + pick(4) }, () => ({
            clientID: pick(12), clock: 1 + pick(50), state: pick(5) === 0 ? null : { s: 'x'.repeat(pick(80)) }
          }))
          for (const e of entries) {
            if (e.clientID === 0) continue
            const o = owner.get(e.clientID)
            if (o !== undefined && o !== p) continue
            if (e.state !== null && JSON.stringify(e.state).length > 64) continue
            if (o === undefined) {
              if (e.state === null) continue
              if ([...owner.values()].filter(x => x === p).length >= 3 || owner.size >= 8) continue
              owner.set(e.clientID, p)
            }
            if (e.state !== null) {
              let set = sent.get(e.clientID)
              if (set === undefined) sent.set(e.clientID, set = new Set())
              set.add(JSON.stringify(e.state))
            }
          }
          room.receive(p, { type: MessageType.Awareness, room: 'r', update: encodeAwarenessEntries(entries) })
        }
        const states = room.presenceStates
        if (states.size > 8) throw new Error(`${states.size} states`)
        for (const [id, state] of states) {
          const o = owner.get(id)
          if (o === undefined || !members.includes(o)) throw new Error(`state ${id} is owned by no member`)
          if (!(sent.get(id)?.has(JSON.stringify(state)) ?? false)) throw new Error(`state ${id} was not set by its owner`)
        }
      }
    } catch (err) {
      throw new Error(`failed with SEED=${seed}: ${String(err)}`)
    }
  })
})

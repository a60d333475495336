/**
 * One real `RaftNode` ("n1") whose two peers ("n2", "n3") are scripted by
 * the test: they grant votes, and acknowledge appends only while `acking`
 * is set, so a test decides exactly what commits and when.
 */
import type { Logger } from 'aegis-replication'
import { InMemoryNetwork, peerId, type Transport } from 'aegis-replication/transport'
import { Prng } from 'aegis-replication/testing'
import { decodeRaftMessage, encodeRaftMessage, MemoryRaftStorage, RaftNode, type RaftConfig, type RaftMessage, type StateMachine } from 'aegis-replication/raft'

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b)

/** A state machine that records every command it applies and answers with their count. */
export class Counter implements StateMachine {
  applied: string[] = []
  apply (cmd: Uint8Array): Uint8Array { this.applied.push(dec(cmd)); return enc(String(this.applied.length)) }
  query (): Uint8Array { return enc(String(this.applied.length)) }
  snapshot (): Uint8Array { return enc(JSON.stringify(this.applied)) }
  restore (bytes: Uint8Array): void { this.applied = JSON.parse(dec(bytes)) as string[] }
}

/** Whether `p` settled, and how. */
export const track = <T>(p: Promise<T>): { settled: boolean, value?: T, error?: Error } => {
  const s: { settled: boolean, value?: T, error?: Error } = { settled: false }
  p.then((v) => { s.settled = true; s.value = v }, (e: Error) => { s.settled = true; s.error = e })
  return s
}

export const fakePeers = async (config: Partial<RaftConfig> = {}, logger?: Logger) => {
  const net = new InMemoryNetwork({ seed: 11 })
  const peers = new Map<string, Transport>([['n2', net.createTransport('n2')], ['n3', net.createTransport('n3')]])
  const received: RaftMessage[] = []
  const state = { acking: true, voting: true }
  const send = (m: RaftMessage): void => peers.get(m.from)!.send(peerId(m.to), encodeRaftMessage(m))
  for (const [id, t] of peers) {
    t.on('message', (_from, frame) => {
      const m = decodeRaftMessage(frame)
      received.push(m)
      if ((m.type === 'vote' || m.type === 'pre-vote') && state.voting) send({ type: m.type === 'vote' ? 'vote-resp' : 'pre-vote-resp', from: id, to: 'n1', term: m.term, reject: false })
      if (m.type === 'append' && state.acking) send({ type: 'append-resp', from: id, to: 'n1', term: m.term, index: m.index + m.entries.length, reject: false, rejectHint: 0, logTerm: 0 })
      if (m.type === 'heartbeat') send({ type: 'heartbeat-resp', from: id, to: 'n1', term: m.term, readSeq: m.readSeq })
    })
  }
  const sm = new Counter()
  const storage = new MemoryRaftStorage()
  const node = new RaftNode({
    nodeId: 'n1', peers: ['n2', 'n3'], preVote: false, checkQuorum: false,
    electionTimeout: { min: 100, max: 200 }, heartbeatInterval: 20, tickInterval: 10, requestTimeout: 2000, ...config
  }, storage, net.createTransport('n1'), sm, { clock: net.clockFor('n1'), random: new Prng(1), ...(logger === undefined ? {} : { logger }) })
  await node.start()
  const run = async (ms: number): Promise<void> => { await net.clock.runForAsync(ms) }
  const until = async (f: () => boolean, ms = 5000): Promise<void> => { await net.clock.runUntilAsync(f, ms) }
  return { net, node, sm, storage, received, state, send, run, until }
}

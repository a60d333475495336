/**
 * A synchronous harness for the pure Raft core: each node's "storage" is
 * applied at once, messages go through a filter the test controls, and
 * nothing happens until the test ticks or delivers.
 */
import { Prng } from 'aegis-replication/testing'
import { RaftCore, encodeConfChange, type Entry, type RaftCoreOptions, type RaftMessage, type ReadState, type Snapshot } from 'aegis-replication/raft'

export interface CoreNode {
  core: RaftCore
  applied: Entry[]
  reads: ReadState[]
  snapshot: Snapshot | undefined
}

export const bootstrapEntry = (voters: string[]): Entry => ({
  term: 1, index: 1, type: 'conf-change', data: encodeConfChange({ op: 'promote', node: voters[0], conf: { voters: [...voters].sort(), learners: [] } })
})

export class CoreCluster {
  readonly nodes = new Map<string, CoreNode>()
  /** Messages waiting to be delivered. */
  queue: RaftMessage[] = []
  /** Return false to drop a message. */
  filter: (m: RaftMessage) => boolean = () => true
  readonly prng: Prng

  constructor (ids: string[], readonly options: Partial<RaftCoreOptions> = {}, seed = 1) {
    this.prng = new Prng(seed)
    for (const id of ids) this.add(id, { hardState: { term: 1, vote: null, commit: 1 }, entries: [bootstrapEntry(ids)] })
  }

  add (id: string, initial: ConstructorParameters<typeof RaftCore>[1]): CoreNode {
    const core = new RaftCore({ id, electionTicks: { min: 10, max: 20 }, heartbeatTicks: 2, random: this.prng, ...this.options }, initial)
    const node: CoreNode = { core, applied: [], reads: [], snapshot: initial.snapshot }
    this.nodes.set(id, node)
    return node
  }

  core (id: string): RaftCore { return this.nodes.get(id)!.core }

  /** Collects every node's ready (persisting at once), queues the messages. */
  collect (): void {
    for (const [, n] of this.nodes) {
      while (n.core.hasReady()) {
        const rd = n.core.ready()
        if (rd.snapshot !== undefined) { n.snapshot = rd.snapshot; n.applied = n.applied.filter((e) => e.index <= 0) }
        for (const e of rd.committed) n.applied.push(e)
        n.reads.push(...rd.readStates)
        this.queue.push(...rd.messages)
        n.core.advance(rd)
      }
    }
  }

  /** Delivers messages until none are left (or `max` were delivered). */
  deliver (max = 100_000): number {
    let n = 0
    for (;;) {
      this.collect()
      if (this.queue.length === 0 || n >= max) return n
      const batch = this.queue
      this.queue = []
      for (const m of batch) {
        if (!this.filter(m)) continue
        const to = this.nodes.get(m.to)
        if (to === undefined) continue
        to.core.step(m)
        n++
      }
    }
  }

  /** Ticks every node (or those named) `times` times, delivering after each round. */
  tick (times = 1, ids?: string[]): void {
    for (let i = 0; i < times; i++) {
      for (const [id, n] of this.nodes) if (ids === undefined || ids.includes(id)) n.core.tick()
      this.deliver()
    }
  }

  leaders (): string[] {
    return [...this.nodes].filter(([, n]) => n.core.role === 'leader').map(([id]) => id)
  }

  /** Ticks until exactly one leader exists. */
  electLeader (maxTicks = 500): string {
    for (let i = 0; i < maxTicks; i++) {
      const ls = this.leaders()
      if (ls.length === 1) return ls[0]
      this.tick()
    }
    throw new Error(`no single leader after ${maxTicks} ticks: ${this.leaders().join(',')}`)
  }

  /** Cuts `group` off from the rest (both ways). */
  isolate (...group: string[]): void {
    this.filter = (m) => group.includes(m.from) === group.includes(m.to)
  }

  heal (): void {
    this.filter = () => true
  }

  logOf (id: string): Array<[number, number]> {
    const core = this.core(id)
    const out: Array<[number, number]> = []
    for (let i = core.log.firstIndex(); i <= core.log.lastIndex(); i++) out.push([i, core.log.termAt(i)!])
    return out
  }
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
export const text = (b: Uint8Array): string => new TextDecoder().decode(b)

/**
 * Per-link bookkeeping of the in-memory network: a table keyed by directed
 * link, and the {@link Cuts} (partition groups and one-way blocks) that
 * decide whether a frame may cross a link.
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'
import type { PeerId } from './transport.js'

/** Values keyed by directed link `from → to`. */
export class LinkTable<T> {
  private readonly rows = new Map<PeerId, Map<PeerId, T>>()

  get (from: PeerId, to: PeerId): T | undefined {
    return this.rows.get(from)?.get(to)
  }

  set (from: PeerId, to: PeerId, value: T): void {
    let row = this.rows.get(from)
    if (row === undefined) this.rows.set(from, (row = new Map()))
    row.set(to, value)
  }

  delete (from: PeerId, to: PeerId): void {
    const row = this.rows.get(from)
    if (row !== undefined && row.delete(to) && row.size === 0) this.rows.delete(from)
  }

  /** Removes every link to or from `id`. */
  forget (id: PeerId): void {
    this.rows.delete(id)
    for (const [from, row] of this.rows) if (row.delete(id) && row.size === 0) this.rows.delete(from)
  }

  clear (): void {
    this.rows.clear()
  }
}

/** Where the network is cut: partition groups and one-way blocks. */
export class Cuts {
  /** Partition group of each listed peer; unlisted peers share group -1. */
  private groups: Map<PeerId, number> | undefined
  private readonly blocked = new LinkTable<true>()

  /**
   * Replaces the partition; no groups removes it.
   *
   * @throws {InvalidArgumentError} if a peer is in two groups.
   */
  partition (groups: ReadonlyArray<readonly PeerId[]>): void {
    const map = new Map<PeerId, number>()
    groups.forEach((group, i) => {
      for (const id of group) {
        if (map.has(id)) throw new InvalidArgumentError(`${id} is in more than one partition group`)
        map.set(id, i)
      }
    })
    this.groups = groups.length === 0 ? undefined : map
  }

  block (from: PeerId, to: PeerId): void {
    this.blocked.set(from, to, true)
  }

  unblock (from: PeerId, to: PeerId): void {
    this.blocked.delete(from, to)
  }

  /** Removes the partition and every block. */
  heal (): void {
    this.groups = undefined
    this.blocked.clear()
  }

  canReach (from: PeerId, to: PeerId): boolean {
    if (this.blocked.get(from, to) === true) return false
    return this.groups === undefined || (this.groups.get(from) ?? -1) === (this.groups.get(to) ?? -1)
  }
}

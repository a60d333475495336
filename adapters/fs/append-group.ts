/**
 * A group commit: the appends that arrive while the log is busy, written
 * together with one write and one fsync per segment they touch.
 *
 * @module
 */

interface Waiter {
  records: Uint8Array[]
  resolve: (lastIndex: number) => void
  reject: (err: unknown) => void
}

/** Appends waiting to be written together; see the module documentation. */
export class AppendGroup {
  private readonly waiters: Waiter[] = []

  /** Adds one `append()` call's records; resolves with the index of its last record. */
  add (records: Uint8Array[]): Promise<number> {
    return new Promise((resolve, reject) => { this.waiters.push({ records, resolve, reject }) })
  }

  /** Every record of the group, in call order. */
  records (): Uint8Array[] {
    return this.waiters.flatMap((w) => w.records)
  }

  /** Resolves each call with its last index, given the index the group's first record got. */
  settle (firstIndex: number): void {
    let next = firstIndex
    for (const w of this.waiters) {
      next += w.records.length
      w.resolve(next - 1)
    }
  }

  /** Rejects every call with `err`. */
  fail (err: unknown): void {
    for (const w of this.waiters) w.reject(err)
  }
}

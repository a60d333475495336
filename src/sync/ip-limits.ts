/**
 * Rate limits shared by every connection from one IP address: token buckets
 * (messages and bytes per second, with a burst allowance) that live while
 * the IP has a connection open, so memory stays bounded by the open
 * connections.
 *
 * @module
 */

/** Options of {@link IpRateLimits}. */
export interface IpRateLimitsOptions {
  /** Messages per second all connections of one IP may send together. */
  messagesPerSecond: number
  /** Bytes per second all connections of one IP may send together. */
  bytesPerSecond: number
  /** Seconds of burst above the averages. */
  burstSeconds: number
}

/** The shared bucket of one IP. */
export class IpBucket {
  /** Open connections from this IP. */
  connections = 0
  msgTokens: number
  byteTokens: number
  lastRefill: number

  constructor (readonly ip: string, o: IpRateLimitsOptions, now: number) {
    this.msgTokens = o.messagesPerSecond * o.burstSeconds
    this.byteTokens = o.bytesPerSecond * o.burstSeconds
    this.lastRefill = now
  }
}

/** The buckets of every IP with an open connection. */
export class IpRateLimits {
  private readonly buckets = new Map<string, IpBucket>()

  constructor (private readonly o: IpRateLimitsOptions) {}

  /** IPs tracked (those with an open connection). */
  get size (): number { return this.buckets.size }

  /** A connection from `ip` opened: its bucket (shared with the IP's other connections). */
  acquire (ip: string, now: number): IpBucket {
    let b = this.buckets.get(ip)
    if (b === undefined) this.buckets.set(ip, b = new IpBucket(ip, this.o, now))
    b.connections++
    return b
  }

  /** A connection from `b.ip` closed; the bucket goes with the IP's last connection. */
  release (b: IpBucket): void {
    if (--b.connections <= 0 && this.buckets.get(b.ip) === b) this.buckets.delete(b.ip)
  }

  /** Takes one message of `bytes` from `b`; false when the IP is over its rate. */
  take (b: IpBucket, bytes: number, now: number): boolean {
    const o = this.o
    const dt = Math.max(0, now - b.lastRefill) / 1000
    b.lastRefill = now
    b.msgTokens = Math.min(o.messagesPerSecond * o.burstSeconds, b.msgTokens + dt * o.messagesPerSecond)
    b.byteTokens = Math.min(o.bytesPerSecond * o.burstSeconds, b.byteTokens + dt * o.bytesPerSecond)
    b.msgTokens -= 1
    b.byteTokens -= bytes
    return b.msgTokens >= 0 && b.byteTokens >= 0
  }
}

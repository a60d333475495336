/**
 * The replicated key-value store: a Raft state machine with string keys and
 * byte values, its binary command codec, and {@link RaftKv}, a typed client
 * over anything that can propose and read.
 *
 * ```ts
 * import { KvStateMachine, RaftKv } from 'aegis-replication/raft'
 * const sm = new KvStateMachine()
 * // a single-node stand-in for a RaftNode: apply writes, run reads locally
 * const kv = new RaftKv({ propose: async (c) => sm.apply(c), read: async (q) => sm.query(q) })
 * await kv.put('seat/12A', new TextEncoder().encode('alice'))
 * await kv.cas('seat/12A', null, new TextEncoder().encode('bob')) // false: taken
 * await kv.range('seat/', 'seat0') // every seat, in key order
 * ```
 *
 * Writes (`put`, `delete`, `cas`) go through the log (`apply`); reads
 * (`get`, `range`) through `query`, which a `RaftNode` runs after a
 * ReadIndex round. Keys are well-formed strings of at most
 * {@link MAX_KV_KEY_BYTES} UTF-8 bytes, ordered by UTF-16 code units (as
 * JavaScript compares strings), the same on every replica.
 *
 * Wire format (lib0 encoding): a {@link KV_PROTOCOL_VERSION} byte, a tag
 * byte, then the fields; optional bytes are a 0/1 flag byte and, if 1, the
 * bytes. Snapshots are the version byte, a count, and the pairs in key order.
 *
 * @module
 */
import * as encoding from 'lib0/encoding'
import { DecodeError, InvalidArgumentError } from '../errors.js'
import { type Decoder, decodeWith, readBytes, readCount, readString, readUint8, readVarUint, remaining } from '../codec/reader.js'
import { writeString } from '../codec/writer.js'
import { compareStrings, utf8Length } from '../clock/node-id.js'
import { finishEncoder, sizedEncoder, writeBytes } from './codec.js'
import type { StateMachine } from './raft-config.js'

/** The version byte that leads every KV command, result and snapshot. */
export const KV_PROTOCOL_VERSION = 1

/** The longest key, in UTF-8 bytes. */
export const MAX_KV_KEY_BYTES = 4096

/** A key and its value, as a range returns them. */
export interface KvEntry {
  /** The key. */
  key: string
  /** Its value. */
  value: Uint8Array
}

/** A KV request: the reads `get` and `range`, the writes `put`, `delete` and `cas`. */
export type KvCommand =
  | { type: 'get', key: string }
  /** Keys in `[start, end)` (`end: null`: no upper bound) in key order, at most `limit` of them (0: no limit). */
  | { type: 'range', start: string, end: string | null, limit: number }
  | { type: 'put', key: string, value: Uint8Array }
  | { type: 'delete', key: string }
  /** Sets `key` to `next` (`null` deletes it) if its value is `expected` (`null`: absent), byte for byte. */
  | { type: 'cas', key: string, expected: Uint8Array | null, next: Uint8Array | null }

/** The answer to a {@link KvCommand}, or `error` for a command the state machine refused. */
export type KvResult =
  | { type: 'get', value: Uint8Array | null }
  | { type: 'range', entries: KvEntry[] }
  | { type: 'put' }
  /** `existed`: whether there was a key to delete. */
  | { type: 'delete', existed: boolean }
  /** `ok`: whether the swap happened. */
  | { type: 'cas', ok: boolean }
  /** A command `apply` could not run (undecodable, or a read sent as a write); nothing changed. */
  | { type: 'error', message: string }

const TAG = { get: 0, range: 1, put: 2, delete: 3, cas: 4, error: 5 } as const

// -- codec --------------------------------------------------------------------

const assertKey = (key: unknown, what = 'key'): string => {
  if (typeof key !== 'string') throw new InvalidArgumentError(`${what} must be a string, got ${typeof key}`)
  const len = utf8Length(key)
  if (len < 0) throw new InvalidArgumentError(`${what} is not well-formed UTF-16 (lone surrogate)`)
  if (len > MAX_KV_KEY_BYTES) throw new InvalidArgumentError(`${what} is ${len} UTF-8 bytes long; the limit is ${MAX_KV_KEY_BYTES}`)
  return key
}

const assertBytes = (v: unknown, what: string): Uint8Array => {
  if (!(v instanceof Uint8Array)) throw new InvalidArgumentError(`${what} must be a Uint8Array`)
  return v
}

const assertBytesOrNull = (v: unknown, what: string): Uint8Array | null => (v === null ? null : assertBytes(v, what))

const readKey = (d: Decoder, what = 'key'): string => {
  const key = readString(d, what)
  if (key.length > MAX_KV_KEY_BYTES / 3 && utf8Length(key) > MAX_KV_KEY_BYTES) {
    throw new DecodeError(`${what} is longer than ${MAX_KV_KEY_BYTES} bytes`)
  }
  return key
}

const readBool = (d: Decoder, what: string): boolean => {
  const b = readUint8(d, what)
  if (b > 1) throw new DecodeError(`${what} must be 0 or 1, got ${b}`)
  return b === 1
}

const writeOptionalBytes = (e: encoding.Encoder, v: Uint8Array | null): void => {
  if (v === null) {
    encoding.writeUint8(e, 0)
  } else {
    encoding.writeUint8(e, 1)
    writeBytes(e, v)
  }
}

const readOptionalBytes = (d: Decoder, what: string): Uint8Array | null => (readBool(d, `${what} flag`) ? readBytes(d, what) : null)

const readVersion = (d: Decoder): void => {
  const v = readUint8(d, 'version')
  if (v !== KV_PROTOCOL_VERSION) throw new DecodeError(`unsupported KV protocol version ${v} (expected ${KV_PROTOCOL_VERSION})`)
}

const bytesOf = (v: unknown): number => (v instanceof Uint8Array ? v.length + 6 : 1)
const keyBytes = (k: unknown): number => (typeof k === 'string' ? k.length * 3 + 5 : 0)

/** About the encoded size of `cmd` (its buffer is allocated once, at this size). */
const commandSize = (cmd: KvCommand): number => {
  switch (cmd?.type) {
    case 'put': return 8 + keyBytes(cmd.key) + bytesOf(cmd.value)
    case 'cas': return 8 + keyBytes(cmd.key) + bytesOf(cmd.expected) + bytesOf(cmd.next)
    case 'range': return 16 + keyBytes(cmd.start) + keyBytes(cmd.end)
    default: return 8 + keyBytes((cmd as { key?: unknown } | null)?.key)
  }
}

/** About the encoded size of `result`. */
const resultSize = (result: KvResult): number => {
  switch (result?.type) {
    case 'get': return 8 + bytesOf(result.value)
    case 'range': {
      let n = 16
      for (const x of result.entries) n += keyBytes(x?.key) + bytesOf(x?.value)
      return n
    }
    case 'error': return 16 + String(result.message).length * 3
    default: return 8
  }
}

/**
 * Encodes a command for `propose` (writes) or `read` (reads).
 *
 * @throws {InvalidArgumentError} for a bad key (not a well-formed string, or
 * longer than {@link MAX_KV_KEY_BYTES}), a value that is not a `Uint8Array`,
 * a `limit` that is not a non-negative safe integer, or an unknown type.
 */
export const encodeKvCommand = (cmd: KvCommand): Uint8Array => {
  const e = sizedEncoder(commandSize(cmd))
  encoding.writeUint8(e, KV_PROTOCOL_VERSION)
  switch (cmd?.type) {
    case 'get':
      encoding.writeUint8(e, TAG.get)
      writeString(e, assertKey(cmd.key))
      break
    case 'range': {
      const { limit } = cmd
      if (!Number.isSafeInteger(limit) || limit < 0) throw new InvalidArgumentError(`range limit must be a non-negative safe integer, got ${String(limit)}`)
      encoding.writeUint8(e, TAG.range)
      writeString(e, assertKey(cmd.start, 'range start'))
      if (cmd.end === null) {
        encoding.writeUint8(e, 0)
      } else {
        encoding.writeUint8(e, 1)
        writeString(e, assertKey(cmd.end, 'range end'))
      }
      encoding.writeVarUint(e, limit)
      break
    }
    case 'put':
      encoding.writeUint8(e, TAG.put)
      writeString(e, assertKey(cmd.key))
      writeBytes(e, assertBytes(cmd.value, 'value'))
      break
    case 'delete':
      encoding.writeUint8(e, TAG.delete)
      writeString(e, assertKey(cmd.key))
      break
    case 'cas':
      encoding.writeUint8(e, TAG.cas)
      writeString(e, assertKey(cmd.key))
      writeOptionalBytes(e, assertBytesOrNull(cmd.expected, 'cas expected value'))
      writeOptionalBytes(e, assertBytesOrNull(cmd.next, 'cas next value'))
      break
    default:
      throw new InvalidArgumentError(`unknown KV command type ${JSON.stringify((cmd as { type?: unknown } | null)?.type)}`)
  }
  return finishEncoder(e)
}

/**
 * Decodes a command written by {@link encodeKvCommand}.
 *
 * @throws {DecodeError} for anything else: a wrong version, an unknown tag,
 * truncated or trailing bytes, bad UTF-8, an over-long key, a length the
 * input cannot hold.
 */
export const decodeKvCommand = (bytes: Uint8Array): KvCommand => decodeWith('KV command', bytes, (d): KvCommand => {
  readVersion(d)
  const tag = readUint8(d, 'command tag')
  switch (tag) {
    case TAG.get:
      return { type: 'get', key: readKey(d) }
    case TAG.range: {
      const start = readKey(d, 'range start')
      const end = readBool(d, 'range end flag') ? readKey(d, 'range end') : null
      const limit = readVarUint(d, 'range limit')
      if (!Number.isSafeInteger(limit)) throw new DecodeError(`range limit ${limit} is not a safe integer`)
      return { type: 'range', start, end, limit }
    }
    case TAG.put: {
      const key = readKey(d)
      return { type: 'put', key, value: readBytes(d, 'value') }
    }
    case TAG.delete:
      return { type: 'delete', key: readKey(d) }
    case TAG.cas: {
      const key = readKey(d)
      const expected = readOptionalBytes(d, 'cas expected value')
      const next = readOptionalBytes(d, 'cas next value')
      return { type: 'cas', key, expected, next }
    }
    default:
      throw new DecodeError(`unknown KV command tag ${tag}`)
  }
})

/**
 * Encodes the answer to a command.
 *
 * @throws {InvalidArgumentError} for a malformed result.
 */
export const encodeKvResult = (result: KvResult): Uint8Array => {
  // the answer to every put: two bytes, on the JS heap (no buffer allocation)
  if (result?.type === 'put') return Uint8Array.of(KV_PROTOCOL_VERSION, TAG.put)
  const e = sizedEncoder(resultSize(result))
  encoding.writeUint8(e, KV_PROTOCOL_VERSION)
  switch (result?.type) {
    case 'get':
      encoding.writeUint8(e, TAG.get)
      writeOptionalBytes(e, assertBytesOrNull(result.value, 'value'))
      break
    case 'range':
      encoding.writeUint8(e, TAG.range)
      encoding.writeVarUint(e, result.entries.length)
      for (const { key, value } of result.entries) {
        writeString(e, assertKey(key))
        encoding.writeVarUint8Array(e, assertBytes(value, 'value'))
      }
      break
    case 'delete':
      encoding.writeUint8(e, TAG.delete)
      encoding.writeUint8(e, result.existed ? 1 : 0)
      break
    case 'cas':
      encoding.writeUint8(e, TAG.cas)
      encoding.writeUint8(e, result.ok ? 1 : 0)
      break
    case 'error':
      encoding.writeUint8(e, TAG.error)
      encoding.writeVarString(e, String(result.message))
      break
    default:
      throw new InvalidArgumentError(`unknown KV result type ${JSON.stringify((result as { type?: unknown } | null)?.type)}`)
  }
  return finishEncoder(e)
}

/**
 * Decodes a result written by {@link encodeKvResult}.
 *
 * @throws {DecodeError} for anything else (see {@link decodeKvCommand}).
 */
export const decodeKvResult = (bytes: Uint8Array): KvResult => decodeWith('KV result', bytes, (d): KvResult => {
  readVersion(d)
  const tag = readUint8(d, 'result tag')
  switch (tag) {
    case TAG.get: {
      // a view, not a copy: the result bytes are the caller's and hold only this value
      if (!readBool(d, 'value flag')) return { type: 'get', value: null }
      const n = readVarUint(d, 'value length')
      if (n > remaining(d)) throw new DecodeError(`value declares ${n} bytes but only ${remaining(d)} remain`)
      return { type: 'get', value: d.arr.subarray(d.pos, (d.pos += n)) }
    }
    case TAG.range: {
      // each entry takes at least two bytes: an empty key and an empty value
      const n = readCount(d, 'range entries', 2)
      const entries: KvEntry[] = new Array(n)
      for (let i = 0; i < n; i++) {
        const key = readKey(d)
        entries[i] = { key, value: readBytes(d, 'value') }
      }
      return { type: 'range', entries }
    }
    case TAG.put:
      return { type: 'put' }
    case TAG.delete:
      return { type: 'delete', existed: readBool(d, 'existed') }
    case TAG.cas:
      return { type: 'cas', ok: readBool(d, 'cas outcome') }
    case TAG.error:
      return { type: 'error', message: readString(d, 'error message') }
    default:
      throw new DecodeError(`unknown KV result tag ${tag}`)
  }
})

// -- the state machine ---------------------------------------------------------

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** The first index in sorted `keys` whose key is `>= key`. */
const lowerBound = (keys: string[], key: string): number => {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (keys[mid] < key) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * The KV store as a Raft state machine. Deterministic: the same commands in
 * the same order give every replica the same contents, results and
 * snapshot bytes.
 *
 * - `apply(cmd)` runs a write (`put`, `delete`, `cas`) and returns the
 *   encoded {@link KvResult}. It never throws: a command it cannot run
 *   (undecodable bytes, or a read) yields an `error` result and changes
 *   nothing, the same on every replica, so one bad entry cannot wedge the log.
 * - `query(q)` runs a read (`get`, `range`); it throws {@link DecodeError}
 *   for bad bytes and {@link InvalidArgumentError} for a write.
 * - `snapshot()` encodes the contents in key order; `restore(bytes)`
 *   replaces them, or throws {@link DecodeError} and keeps them.
 */
export class KvStateMachine implements StateMachine {
  private readonly data = new Map<string, Uint8Array>()
  /** The keys of `data` in key order (for ranges and snapshots), as of the last {@link sortedKeys} call. */
  private sorted: string[] = []
  /** Keys added since, not yet merged into `sorted`. */
  private added: string[] = []
  /** A key was deleted since: `sorted` must be rebuilt. */
  private stale = false

  /** How many keys the store holds. */
  get size (): number {
    return this.data.size
  }

  /** Runs an encoded write command; see the class documentation. */
  apply (cmd: Uint8Array): Uint8Array {
    let command: KvCommand
    try {
      command = decodeKvCommand(cmd)
    } catch (err) {
      return encodeKvResult({ type: 'error', message: (err as Error).message })
    }
    switch (command.type) {
      case 'put':
        this.set(command.key, command.value)
        return encodeKvResult({ type: 'put' })
      case 'delete':
        return encodeKvResult({ type: 'delete', existed: this.set(command.key, null) })
      case 'cas': {
        const current = this.data.get(command.key) ?? null
        const ok = current === null || command.expected === null ? current === command.expected : sameBytes(current, command.expected)
        if (ok) this.set(command.key, command.next)
        return encodeKvResult({ type: 'cas', ok })
      }
      default:
        return encodeKvResult({ type: 'error', message: `KV command: ${command.type} is a read; send it with read(), not propose()` })
    }
  }

  /** Runs an encoded read command; see the class documentation. */
  query (q: Uint8Array): Uint8Array {
    const command = decodeKvCommand(q)
    switch (command.type) {
      case 'get':
        return encodeKvResult({ type: 'get', value: this.data.get(command.key) ?? null })
      case 'range':
        return encodeKvResult({ type: 'range', entries: this.range(command.start, command.end, command.limit) })
      default:
        throw new InvalidArgumentError(`KV query: ${command.type} is a write; send it with propose(), not read()`)
    }
  }

  /** The whole store, in key order. */
  snapshot (): Uint8Array {
    const keys = this.sortedKeys()
    // one buffer of the right size: no doubling copies of a large store
    let size = 16
    for (const key of keys) size += key.length * 3 + 5 + this.data.get(key)!.length + 5
    const e = sizedEncoder(size)
    encoding.writeUint8(e, KV_PROTOCOL_VERSION)
    encoding.writeVarUint(e, keys.length)
    for (const key of keys) {
      writeString(e, key)
      writeBytes(e, this.data.get(key)!)
    }
    return finishEncoder(e)
  }

  /** Replaces the store with a {@link KvStateMachine.snapshot}; on bad bytes throws {@link DecodeError} and keeps the old contents. */
  restore (bytes: Uint8Array): void {
    const entries = decodeWith('KV snapshot', bytes, (d) => {
      readVersion(d)
      const n = readCount(d, 'snapshot entries', 2)
      const out: KvEntry[] = new Array(n)
      let prev: string | null = null
      for (let i = 0; i < n; i++) {
        const key = readKey(d)
        if (prev !== null && compareStrings(prev, key) >= 0) throw new DecodeError(`snapshot keys out of order at entry ${i}`)
        out[i] = { key, value: readBytes(d, 'value') }
        prev = key
      }
      return out
    })
    this.data.clear()
    for (const { key, value } of entries) this.data.set(key, value)
    this.sorted = entries.map((x) => x.key)
    this.added = []
    this.stale = false
  }

  /** Sets (or with `null`, deletes) a key; returns whether it existed. */
  private set (key: string, value: Uint8Array | null): boolean {
    if (value === null) {
      const existed = this.data.delete(key)
      if (existed) this.stale = true
      return existed
    }
    // one hash lookup instead of has() then set(): the size tells whether the key is new
    const before = this.data.size
    this.data.set(key, value)
    const existed = this.data.size === before
    if (!existed && !this.stale) this.added.push(key)
    return existed
  }

  /**
   * The keys in key order. Writes only note what changed (an insert into a
   * sorted array on every put cost O(n) each); a few added keys are merged
   * in here, more (or any delete) rebuild the order once.
   */
  private sortedKeys (): string[] {
    if (!this.stale && this.added.length <= 32) {
      for (const key of this.added) this.sorted.splice(lowerBound(this.sorted, key), 0, key)
    } else {
      // the default sort compares UTF-16 code units, the order keys have everywhere
      this.sorted = [...this.data.keys()].sort()
    }
    this.added = []
    this.stale = false
    return this.sorted
  }

  private range (start: string, end: string | null, limit: number): KvEntry[] {
    const out: KvEntry[] = []
    const keys = this.sortedKeys()
    for (let i = lowerBound(keys, start); i < keys.length; i++) {
      const key = keys[i]
      if (end !== null && key >= end) break
      if (limit > 0 && out.length >= limit) break
      out.push({ key, value: this.data.get(key)! })
    }
    return out
  }
}

// -- the client ----------------------------------------------------------------

/** What {@link RaftKv} needs: a `RaftNode`, or anything that forwards to one. */
export interface KvProposer {
  /** Commits a write and resolves to its apply result. */
  propose (cmd: Uint8Array): Promise<Uint8Array>
  /** Runs a linearizable read and resolves to its query result. */
  read (q: Uint8Array): Promise<Uint8Array>
}

/**
 * A typed KV client over a {@link KvProposer}. Errors of the node
 * (`NotLeaderError`, `TimeoutError`, …) pass through; a result of the wrong
 * type is a {@link DecodeError}; a command the state machine refused is an
 * {@link InvalidArgumentError}.
 */
export class RaftKv {
  /** @param node - where commands go, usually a `RaftNode`. */
  constructor (readonly node: KvProposer) {}

  /** The value of `key`, or `null` if it is absent. */
  async get (key: string): Promise<Uint8Array | null> {
    return this.expect(await this.node.read(encodeKvCommand({ type: 'get', key })), 'get').value
  }

  /** Sets `key` to `value`. */
  async put (key: string, value: Uint8Array): Promise<void> {
    this.expect(await this.node.propose(encodeKvCommand({ type: 'put', key, value })), 'put')
  }

  /** Deletes `key`; resolves to whether it existed. */
  async delete (key: string): Promise<boolean> {
    return this.expect(await this.node.propose(encodeKvCommand({ type: 'delete', key })), 'delete').existed
  }

  /**
   * Sets `key` to `next` (`null`: deletes it) if its value is `expected`
   * (`null`: if it is absent); resolves to whether it did.
   */
  async cas (key: string, expected: Uint8Array | null, next: Uint8Array | null): Promise<boolean> {
    return this.expect(await this.node.propose(encodeKvCommand({ type: 'cas', key, expected, next })), 'cas').ok
  }

  /**
   * The entries with keys in `[start, end)` in key order (`end` `null`: to
   * the last key), at most `limit` of them (0: all).
   */
  async range (start: string, end: string | null, limit = 0): Promise<KvEntry[]> {
    return this.expect(await this.node.read(encodeKvCommand({ type: 'range', start, end, limit })), 'range').entries
  }

  private expect<T extends KvResult['type']> (bytes: Uint8Array, type: T): Extract<KvResult, { type: T }> {
    const result = decodeKvResult(bytes)
    if (result.type === 'error') throw new InvalidArgumentError(result.message)
    if (result.type !== type) throw new DecodeError(`KV result: expected a ${type} result, got a ${result.type} result`)
    return result as Extract<KvResult, { type: T }>
  }
}

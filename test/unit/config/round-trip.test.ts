/**
 * Properties of `parseConfig` (fast-check; a failure prints its seed and
 * path, and `fc.assert(…, { seed, path })` replays it):
 * - any valid config, written as TOML in any of the ways TOML allows
 *   (key and section order, spacing, comments, integer and string forms,
 *   defaults left out, CRLF), reads back as the same config;
 * - any text — random, TOML-like, or a valid file with random edits —
 *   gives a valid config or an InvalidArgumentError, never another error,
 *   and quickly.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { InvalidArgumentError } from 'aegis-replication'
import { DEFAULT_CONFIG, parseConfig, resolveConfig, type ReplicationConfig } from 'aegis-replication/config'

// ---- a test-only TOML writer -------------------------------------------

type Value = number | string | boolean | readonly string[] | undefined
/** Every key of the file format, with its value in a config. */
const KEYS: Array<[section: string, key: string, get: (c: ReplicationConfig) => Value]> = [
  ['replication', 'replication_factor', c => c.replicationFactor],
  ['replication', 'consistency_level', c => c.consistencyLevel],
  ['raft', 'election_timeout_min', c => c.raft.electionTimeoutMin],
  ['raft', 'election_timeout_max', c => c.raft.electionTimeoutMax],
  ['raft', 'heartbeat_interval', c => c.raft.heartbeatInterval],
  ['sharding', 'strategy', c => c.sharding.strategy],
  ['sharding', 'shard_count', c => c.sharding.shardCount],
  ['sharding', 'auto_rebalance', c => c.sharding.autoRebalance],
  ['hub', 'port', c => c.hub.port],
  ['hub', 'host', c => c.hub.host],
  ['hub', 'data_dir', c => c.hub.dataDir],
  ['hub', 'idle_ms', c => c.hub.idleMs],
  ['hub', 'allow_anonymous', c => c.hub.allowAnonymous],
  ['hub', 'allowed_origins', c => c.hub.allowedOrigins],
  ['hub', 'metrics_token_file', c => c.hub.metricsTokenFile],
  ['hub', 'max_connections', c => c.hub.maxConnections],
  ['hub', 'ping_interval_ms', c => c.hub.pingIntervalMs]
]
const SECTIONS = ['replication', 'raft', 'sharding', 'hub']

/** How to write one file: every choice the writer makes, drawn by fast-check. */
interface Style {
  sectionOrder: string[]
  /** per key (index in KEYS): how to write it */
  keys: Array<{ order: number, int: 'dec' | 'plus' | 'underscores' | 'hex' | 'octal' | 'binary', underscores: number, literal: boolean, escapeAll: boolean, comment: string | null }>
  omitDefaults: boolean
  assign: string
  indent: string
  eol: '\n' | '\r\n'
  blankLines: boolean
  headerComment: string | null
}

const COMMENTS = ['', ' x = 1', ' [raft]', ' "quoted" \'too\'', ' # ## #', ' ünïcödé ✓', '\ttab']

const styleArb: fc.Arbitrary<Style> = fc.record({
  sectionOrder: fc.shuffledSubarray(SECTIONS, { minLength: 4, maxLength: 4 }),
  keys: fc.array(fc.record({
    order: fc.nat(100),
    int: fc.constantFrom('dec', 'plus', 'underscores', 'hex', 'octal', 'binary'),
    underscores: fc.nat(),
    literal: fc.boolean(),
    escapeAll: fc.boolean(),
    comment: fc.option(fc.constantFrom(...COMMENTS))
  }), { minLength: KEYS.length, maxLength: KEYS.length }),
  omitDefaults: fc.boolean(),
  assign: fc.constantFrom(' = ', '=', '\t=\t', '  =   '),
  indent: fc.constantFrom('', '  ', '\t'),
  eol: fc.constantFrom('\n', '\r\n'),
  blankLines: fc.boolean(),
  headerComment: fc.option(fc.constantFrom(...COMMENTS))
})

const writeInt = (n: number, how: Style['keys'][number]): string => {
  switch (how.int) {
    case 'plus': return `+${n}`
    case 'hex': return n > 0 ? `0x${n.toString(16)}` : String(n)
    case 'octal': return n > 0 ? `0o${n.toString(8)}` : String(n)
    case 'binary': return n > 0 && n < 2 ** 31 ? `0b${n.toString(2)}` : String(n)
    case 'underscores': {
      // an underscore after digit i when bit i of `underscores` is set
      const digits = String(n)
      return [...digits].map((d, i) => i < digits.length - 1 && ((how.underscores >>> (i % 31)) & 1) === 1 ? `${d}_` : d).join('')
    }
    default: return String(n)
  }
}

const SHORT: Record<string, string> = { '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r', '"': '\\"', '\\': '\\\\' }
const writeString = (s: string, how: Style['keys'][number]): string => {
  if (how.literal && !/[\u0000-\u0008\u000a-\u001f\u007f']/.test(s)) return `'${s}'`
  let out = '"'
  for (const ch of s) {
    const cp = ch.codePointAt(0)!
    if (SHORT[ch] !== undefined) out += SHORT[ch]
    else if (cp < 0x20 || cp === 0x7f || (how.escapeAll && cp > 0x7e)) {
      out += cp > 0xffff ? `\\U${cp.toString(16).padStart(8, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`
    } else out += ch
  }
  return out + '"'
}

/** `config` as a TOML file, written as `style` says. */
const writeToml = (config: ReplicationConfig, style: Style): string => {
  const lines: string[] = []
  if (style.headerComment !== null) lines.push(`#${style.headerComment}`)
  for (const section of style.sectionOrder) {
    const keys = KEYS.map((k, i) => ({ k, how: style.keys[i] }))
      .filter(({ k }) => k[0] === section)
      .filter(({ k }) => !style.omitDefaults || k[2](config) !== k[2](DEFAULT_CONFIG))
      .sort((a, b) => a.how.order - b.how.order)
    lines.push(`[${section}]`)
    for (const { k: [, key, get], how } of keys) {
      const v = get(config)
      if (v === undefined) continue
      const text = typeof v === 'number'
        ? writeInt(v, how)
        : typeof v === 'string' ? writeString(v, how) : Array.isArray(v) ? `[${v.map(x => writeString(x, how)).join(', ')}]` : String(v)
      lines.push(`${style.indent}${key}${style.assign}${text}${how.comment === null ? '' : ` #${how.comment}`}`)
    }
    if (style.blankLines) lines.push('')
  }
  return lines.join(style.eol)
}

// ---- valid configs ----------------------------------------------------

const count = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })
const text = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 24 }),
  // the characters a string writer or reader gets wrong: quotes, escapes, comment and table marks, spaces, controls
  fc.string({ unit: fc.constantFrom(' ', '\t', 'a', 'Z', '0', '"', "'", '\\', '#', '=', '[', ']', '\n', '\r', '\u0001', '\u007f', 'é', '😀', 'u'), minLength: 1, maxLength: 24 })
)
const configArb: fc.Arbitrary<ReplicationConfig> = fc.record({
  replicationFactor: fc.oneof(fc.integer({ min: 1, max: 9 }), count),
  consistencyLevel: fc.constantFrom('one', 'quorum', 'all'),
  raft: fc.uniqueArray(fc.oneof(fc.integer({ min: 1, max: 2000 }), count), { minLength: 3, maxLength: 3 })
    .map(t => t.sort((a, b) => a - b))
    .map(([heartbeatInterval, electionTimeoutMin, electionTimeoutMax]) => ({ heartbeatInterval, electionTimeoutMin, electionTimeoutMax })),
  sharding: fc.record({ strategy: fc.constantFrom('hash', 'range'), shardCount: count, autoRebalance: fc.boolean() }),
  hub: fc.record({
    port: fc.integer({ min: 0, max: 65_535 }),
    host: fc.oneof(fc.constantFrom('127.0.0.1', '0.0.0.0', '::1', 'localhost'), text),
    dataDir: fc.oneof(fc.constantFrom('./.aegis-data', '/var/lib/aegis', 'C:\\aegis\\data', "it's here"), text),
    idleMs: fc.nat(),
    allowAnonymous: fc.boolean(),
    allowedOrigins: fc.array(fc.constantFrom('*', 'https://app.example', 'http://localhost:5173', 'http://[::1]:80'), { maxLength: 3 }),
    metricsTokenFile: text,
    maxConnections: count,
    pingIntervalMs: count
  }, { requiredKeys: ['port', 'host', 'dataDir', 'idleMs', 'allowAnonymous'] })
}) as fc.Arbitrary<ReplicationConfig>

describe('round trip', () => {
  it('writer sanity: the defaults, written plainly, are the ARCHITECTURE layout', () => {
    const plain: Style['keys'][number] = { order: 0, int: 'dec', underscores: 0, literal: false, escapeAll: false, comment: null }
    const toml = writeToml(DEFAULT_CONFIG, {
      sectionOrder: SECTIONS, keys: KEYS.map(() => plain), omitDefaults: false, assign: ' = ', indent: '', eol: '\n', blankLines: false, headerComment: null
    })
    expect(toml.split('\n').slice(0, 4)).toEqual(['[replication]', 'replication_factor = 3', 'consistency_level = "quorum"', '[raft]'])
    expect(parseConfig(toml)).toEqual(DEFAULT_CONFIG)
  })

  it('any valid config, written as TOML in any style, parses back to itself', () => {
    fc.assert(fc.property(configArb, styleArb, (config, style) => {
      expect(parseConfig(writeToml(config, style))).toEqual(config)
    }), { numRuns: 500 })
  })

  it('any valid config passes resolveConfig unchanged', () => {
    fc.assert(fc.property(configArb, (config) => {
      expect(resolveConfig(config)).toEqual(config)
    }))
  })
})

// ---- garbage ----------------------------------------------------------

/** parseConfig(text) gives a config that resolveConfig accepts as it is, or throws InvalidArgumentError. */
const readsOrRejects = (toml: string): void => {
  let result: ReplicationConfig
  try {
    result = parseConfig(toml)
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw new Error(`not an InvalidArgumentError for ${JSON.stringify(toml)}`, { cause: err })
    expect(err.message).toMatch(/^line \d+: /)
    return
  }
  expect(resolveConfig(result)).toEqual(result)
}

const TOML_CHARS = [...'[]{}="\'#\\\n\r\t .,_-+0123456789abexoinfqtrue', 'port', 'hub', 'raft', 'u00e9', 'shard_count', '"""', '\u0000', '\u00e9', '\ud800']
const tomlish = fc.string({ unit: fc.constantFrom(...TOML_CHARS), maxLength: 80 })

/** A valid file with random edits: characters inserted, removed or replaced, lines repeated. */
const edited = fc.tuple(configArb, styleArb, fc.array(fc.tuple(fc.nat(), fc.constantFrom('insert', 'delete', 'replace', 'repeat-line'), fc.constantFrom(...TOML_CHARS)), { minLength: 1, maxLength: 4 }))
  .map(([config, style, edits]) => {
    let s = writeToml(config, style)
    for (const [at, op, ch] of edits) {
      const i = s.length === 0 ? 0 : at % s.length
      if (op === 'insert') s = s.slice(0, i) + ch + s.slice(i)
      else if (op === 'delete') s = s.slice(0, i) + s.slice(i + 1)
      else if (op === 'replace') s = s.slice(0, i) + ch + s.slice(i + ch.length)
      else {
        const lines = s.split('\n')
        const n = at % lines.length
        lines.splice(n, 0, lines[n])
        s = lines.join('\n')
      }
    }
    return s
  })

describe('garbage', () => {
  it('random text: a config or an InvalidArgumentError', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), readsOrRejects), { numRuns: 1000 })
  })

  it('TOML-like text: a config or an InvalidArgumentError', () => {
    fc.assert(fc.property(tomlish, readsOrRejects), { numRuns: 2000 })
  })

  it('valid files with random edits: a config or an InvalidArgumentError', () => {
    fc.assert(fc.property(edited, readsOrRejects), { numRuns: 1000 })
  })

  it('large hostile inputs are rejected in linear time', () => {
    const n = 200_000
    const hostile = [
      `[hub]\nhost = "${'\\'.repeat(n)}`,
      `[hub]\nhost = "${'\\n'.repeat(n)}`,
      `[hub]\nhost = "${'a'.repeat(n)}`,
      `[hub]\nhost = '${'a'.repeat(n)}`,
      `[hub]\nport = ${'1_'.repeat(n)}`,
      `[hub]\nport = ${'9'.repeat(n)}`,
      `[hub]\nport = 1.${'0'.repeat(n)}e`,
      `[${'h'.repeat(n)}`,
      `${'k'.repeat(n)} = 1`,
      `[sharding]\n${'shard_count'.repeat(n / 10)} = 1`,
      '[hub]\n' + '# comment\n'.repeat(n) + 'port = x',
      '\n'.repeat(n) + '[',
      '['.repeat(n)
    ]
    // a parser that backtracks on these would not finish within the test's timeout
    for (const toml of hostile) expect(() => parseConfig(toml), toml.slice(0, 30)).toThrow(InvalidArgumentError)
  })
})

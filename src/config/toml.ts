/**
 * The part of TOML 1.0 a config file needs: `[section]` headers, `key =
 * value` lines with bare keys, basic ("…", with escapes) and literal ('…')
 * strings, integers (decimal, 0x, 0o, 0b, `_` separators), floats (with
 * inf and nan), booleans, arrays of strings on one line, `#` comments and
 * blank lines; LF or CRLF. What it reads means what TOML says; everything
 * else (other arrays, inline or nested tables, dotted or quoted keys, multi-line strings, dates) is rejected
 * with an {@link InvalidArgumentError} that names the line. One line is one
 * element, so a scan is linear and every input ends in a result or an error.
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js'

export type TomlType = 'string' | 'integer' | 'float' | 'boolean' | 'array'

/** One `key = value`: the value, its TOML type, its source text and line (1-based). */
export interface TomlEntry {
  readonly type: TomlType
  readonly value: string | number | boolean | readonly string[]
  readonly raw: string
  readonly line: number
}

/** A `[section]`: the line of its header (0 for keys above every header) and its keys in file order. */
export interface TomlSection {
  readonly line: number
  readonly entries: Map<string, TomlEntry>
}

const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/
const BARE_KEY = /^[A-Za-z0-9_-]+/
const TOKEN = /^[^ \t#]+/
const DECIMAL = /^[+-]?(?:0|[1-9](?:_?[0-9])*)$/
const FLOAT = /^[+-]?(?:0|[1-9](?:_?[0-9])*)(?:\.[0-9](?:_?[0-9])*)?(?:[eE][+-]?[0-9](?:_?[0-9])*)?$/
const PREFIXED: Record<string, [RegExp, number]> = {
  '0x': [/^0x[0-9A-Fa-f](?:_?[0-9A-Fa-f])*$/, 16],
  '0o': [/^0o[0-7](?:_?[0-7])*$/, 8],
  '0b': [/^0b[01](?:_?[01])*$/, 2]
}
const HEX4 = /^[0-9A-Fa-f]{4}$/
const HEX8 = /^[0-9A-Fa-f]{8}$/
const ESCAPES: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', '"': '"', '\\': '\\' }

const fail: (line: number, message: string) => never = (line, message) => {
  throw new InvalidArgumentError(`line ${line}: ${message}`)
}

const quote = (s: string): string => JSON.stringify(s.length > 20 ? s.slice(0, 20) + '…' : s)

/** Reads a value that is not a string: a boolean, an integer or a float. */
const readScalar = (token: string, line: number, key: string): Omit<TomlEntry, 'line' | 'raw'> => {
  if (token === 'true' || token === 'false') return { type: 'boolean', value: token === 'true' }
  const plain = token.replace(/_/g, '')
  const prefixed = PREFIXED[token.slice(0, 2)]
  let n: number | undefined
  if (DECIMAL.test(token)) n = Number(plain)
  else if (prefixed !== undefined && prefixed[0].test(token)) n = Number.parseInt(plain.slice(2), prefixed[1])
  if (n !== undefined) {
    if (!Number.isSafeInteger(n)) fail(line, `the integer ${quote(token)} is out of range (at most ±${Number.MAX_SAFE_INTEGER})`)
    return { type: 'integer', value: n === 0 ? 0 : n }
  }
  if (FLOAT.test(token)) return { type: 'float', value: Number(plain) }
  if (/^[+-]?(?:inf|nan)$/.test(token)) return { type: 'float', value: token.endsWith('nan') ? NaN : token.startsWith('-') ? -Infinity : Infinity }
  if (/^\d{4}-\d\d-\d\d|^\d\d:\d\d/.test(token)) fail(line, `dates and times are not supported (${key} = ${quote(token)})`)
  return fail(line, `cannot read the value ${quote(token)} of ${key}: expected a string ("…" or '…'), a number, true or false`)
}

/** Reads the basic string that opens at `s[start]` (a `"`); returns it and the index after its closing quote. */
const readBasic = (s: string, start: number, line: number): [string, number] => {
  let out = ''
  let from = start + 1
  let i = from
  while (i < s.length) {
    const c = s[i]
    if (c === '"') return [out + s.slice(from, i), i + 1]
    if (c !== '\\') { i++; continue }
    out += s.slice(from, i)
    const e = s[i + 1] ?? ''
    if (e === 'u' || e === 'U') {
      const len = e === 'u' ? 4 : 8
      const hex = s.slice(i + 2, i + 2 + len)
      if (!(e === 'u' ? HEX4 : HEX8).test(hex)) fail(line, `\\${e} must be followed by ${len} hex digits`)
      const cp = Number.parseInt(hex, 16)
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail(line, `\\${e}${hex} is not a Unicode scalar value`)
      out += String.fromCodePoint(cp)
      i += 2 + len
    } else {
      const decoded = ESCAPES[e]
      if (decoded === undefined) fail(line, `invalid escape \\${e} in a string (allowed: \\b \\t \\n \\f \\r \\" \\\\ \\uXXXX \\UXXXXXXXX)`)
      out += decoded
      i += 2
    }
    from = i
  }
  return fail(line, 'unterminated string: the closing " is missing')
}

/** Reads the string that opens at `s[i]` (`"` or `'`); returns it and the index after its closing quote. */
const readString = (s: string, i: number, line: number): [string, number] => {
  if (s.startsWith(s[i].repeat(3), i)) fail(line, 'multi-line strings are not supported')
  if (s[i] === '"') return readBasic(s, i, line)
  const end = s.indexOf("'", i + 1)
  if (end === -1) fail(line, "unterminated string: the closing ' is missing")
  return [s.slice(i + 1, end), end + 1]
}

/** Reads the one-line array of strings that opens at `s[i]` (a `[`); returns it and the index after its `]`. */
const readArray = (s: string, i: number, line: number, key: string): [string[], number] => {
  const out: string[] = []
  i++
  for (;;) {
    while (s[i] === ' ' || s[i] === '\t') i++
    if (s[i] === ']') return [out, i + 1]
    if (i >= s.length || s[i] === '#') fail(line, `the array of ${key} must be on one line and end with "]"`)
    if (s[i] !== '"' && s[i] !== "'") fail(line, `only arrays of strings are supported (${key})`)
    const [value, end] = readString(s, i, line)
    out.push(value)
    i = end
    while (s[i] === ' ' || s[i] === '\t') i++
    if (s[i] === ',') i++
    else if (s[i] !== ']') fail(line, `expected "," or "]" in the array of ${key}`)
  }
}

/** Parses `text`: sections by name in file order; keys above the first header are in section `''`. */
export const parseToml = (text: string): Map<string, TomlSection> => {
  const doc = new Map<string, TomlSection>()
  let section: TomlSection = { line: 0, entries: new Map() }
  let sectionName = ''
  doc.set('', section)
  const lines = text.split('\n')
  for (let index = 0; index < lines.length; index++) {
    const line = index + 1
    let s = lines[index]
    if (s.endsWith('\r')) s = s.slice(0, -1)
    if (index === 0 && s.startsWith('\uFEFF')) s = s.slice(1)
    const control = CONTROL.exec(s)
    if (control !== null) fail(line, `control character U+${control[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()} is not allowed`)
    let i = 0
    const skipSpace = (): void => { while (s[i] === ' ' || s[i] === '\t') i++ }
    const expectEnd = (after: string): void => {
      skipSpace()
      if (i < s.length && s[i] !== '#') fail(line, `unexpected ${quote(s.slice(i))} after ${after}`)
    }
    skipSpace()
    if (i === s.length || s[i] === '#') continue
    if (s[i] === '[') {
      i++
      if (s[i] === '[') fail(line, 'arrays of tables ([[…]]) are not supported')
      skipSpace()
      const name = BARE_KEY.exec(s.slice(i))?.[0]
      if (name === undefined) fail(line, s[i] === '"' || s[i] === "'" ? 'quoted section names are not supported' : 'expected a section name after "["')
      i += name.length
      skipSpace()
      if (s[i] === '.') fail(line, `nested tables ([${name}.…]) are not supported`)
      if (s[i] !== ']') fail(line, `expected "]" after [${name}`)
      i++
      expectEnd(`[${name}]`)
      const previous = doc.get(name)
      if (previous !== undefined) fail(line, `section [${name}] is defined twice (first on line ${previous.line})`)
      const clash = doc.get('')!.entries.get(name)
      if (clash !== undefined) fail(line, `section [${name}] clashes with the key ${name} on line ${clash.line}`)
      section = { line, entries: new Map() }
      sectionName = name
      doc.set(sectionName, section)
      continue
    }
    const key = BARE_KEY.exec(s.slice(i))?.[0]
    if (key === undefined) {
      fail(line, s[i] === '"' || s[i] === "'"
        ? 'quoted keys are not supported: use a bare key (letters, digits, _ and -)'
        : `expected a key, a [section] or a # comment, found ${quote(s.slice(i))}`)
    }
    const qualified = sectionName === '' ? key : `${sectionName}.${key}`
    i += key.length
    skipSpace()
    if (s[i] === '.') fail(line, `dotted keys (${key}.…) are not supported: put the key under its [section]`)
    if (s[i] !== '=') fail(line, `expected "=" after the key ${qualified}`)
    i++
    skipSpace()
    const start = i
    let parsed: Omit<TomlEntry, 'line' | 'raw'>
    const c = s[i]
    if (c === '"' || c === "'") {
      const [value, end] = readString(s, i, line)
      parsed = { type: 'string', value }
      i = end
    } else if (c === '[') {
      const [value, end] = readArray(s, i, line, qualified)
      parsed = { type: 'array', value }
      i = end
    } else if (c === '{') {
      return fail(line, `inline tables are not supported (${qualified})`)
    } else if (c === undefined || c === '#') {
      return fail(line, `${qualified} has no value`)
    } else {
      const token = TOKEN.exec(s.slice(i))![0]
      parsed = readScalar(token, line, qualified)
      i += token.length
    }
    const raw = s.slice(start, i)
    expectEnd(`the value of ${qualified}`)
    const previous = section.entries.get(key)
    if (previous !== undefined) fail(line, `${qualified} is set twice (first on line ${previous.line})`)
    section.entries.set(key, { ...parsed, raw, line })
  }
  return doc
}

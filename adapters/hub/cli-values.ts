/**
 * The values `aegis-hub` reads that need more than a type: `--peers`, the
 * config file, `--allowed-origins`, and whether `--host` is loopback.
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { InvalidArgumentError } from 'aegis-replication'
import { parseConfig, type ReplicationConfig } from 'aegis-replication/config'

/** `n2=ws://a:1,n3=ws://b:2` → `{ n2: 'ws://a:1', n3: 'ws://b:2' }`. */
export const parsePeers = (list: string): Record<string, string> => {
  const peers: Record<string, string> = {}
  for (const item of list.split(',').map(s => s.trim()).filter(s => s !== '')) {
    const eq = item.indexOf('=')
    const id = item.slice(0, eq).trim()
    const url = item.slice(eq + 1).trim()
    if (eq < 1 || !/^wss?:\/\/[^\s]+$/.test(url)) throw new Error(`--peers takes id=ws://host:port pairs separated by commas; ${JSON.stringify(item)} is not one`)
    if (id in peers) throw new Error(`--peers names ${id} twice`)
    peers[id] = url
  }
  return peers
}

/** A config file; any problem with the file is an error that names it. */
export const readConfig = async (file: string): Promise<ReplicationConfig> => {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new Error(`cannot read the config file ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
  try {
    return parseConfig(text)
  } catch (err) {
    if (err instanceof Error && err.name === InvalidArgumentError.name) throw new InvalidArgumentError(`config file ${file}: ${err.message}`)
    throw err
  }
}

const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/\s?#]+$/i

/** `--allowed-origins`: `'*'` if any entry is `*`, else the origins, each checked. */
export const origins = (list: readonly string[], source: string): readonly string[] | '*' => {
  for (const o of list) {
    if (o !== '*' && !ORIGIN.test(o)) throw new InvalidArgumentError(`${source} takes origins such as https://app.example (scheme://host[:port], no path) separated by commas, or *; ${JSON.stringify(o)} is not one`)
  }
  return list.includes('*') ? '*' : list
}

/** Whether `host` only accepts connections from this machine. */
export const isLoopbackHost = (host: string): boolean =>
  host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host) || /^::ffff:127\./i.test(host)

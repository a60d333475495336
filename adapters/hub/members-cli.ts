/**
 * `aegis-hub members add|remove|list`: changes the hubs' Raft group at run
 * time through any member (`--hub ws://host:port`), which forwards changes
 * to the leader. Authenticated with the cluster secret
 * (`--cluster-secret-file F` or `AEGIS_HUB_CLUSTER_SECRET`).
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { checkSecret } from './cluster-auth.js'
import { adminRequest } from './admin-client.js'
import type { AdminAnswer, AdminRequest } from './membership.js'

/** The environment variable that may hold the cluster secret. */
export const CLUSTER_SECRET_ENV = 'AEGIS_HUB_CLUSTER_SECRET'

/** The cluster secret from `--cluster-secret-file` (first), else the environment; undefined when neither is set. */
export const readClusterSecret = async (file: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> => {
  if (file !== undefined) {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      throw new Error(`cannot read the cluster secret file ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
    }
    return checkSecret(text.trim())
  }
  const v = env[CLUSTER_SECRET_ENV]
  return v === undefined || v === '' ? undefined : checkSecret(v.trim())
}

export const MEMBERS_USAGE = `usage: aegis-hub members list --hub ws://host:port
       aegis-hub members add ID=ws://host:port --hub ws://host:port
       aegis-hub members remove ID --hub ws://host:port

  --hub URL                  any member of the cluster (changes are forwarded to its leader)
  --cluster-secret-file F    the cluster secret (or the environment variable ${CLUSTER_SECRET_ENV})
  --timeout-ms N             give up after N ms                              default 60000
  --json                     print the answer as JSON
`

const format = (a: Extract<AdminAnswer, { ok: true }>): string => {
  const lines = [`cluster ${a.clusterId === '' ? '(id not committed yet)' : a.clusterId}, leader ${a.leader ?? '(none)'}`]
  for (const m of a.members) lines.push(`${m.id}\t${m.role}${m.leader ? ' (leader)' : ''}\t${m.url ?? '-'}\tmember ${m.memberId ?? '(not connected yet)'}`)
  return lines.join('\n') + '\n'
}

/** Runs `members …` (argv after `members`); resolves with the answer, throws on refusal. */
export const runMembersCli = async (argv: string[], out: (line: string) => void = (l) => process.stdout.write(l)): Promise<AdminAnswer | undefined> => {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      hub: { type: 'string' },
      'cluster-secret-file': { type: 'string' },
      'timeout-ms': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    },
    allowPositionals: true,
    strict: true
  })
  if (values.help === true || positionals.length === 0) { out(MEMBERS_USAGE); return undefined }
  if (values.hub === undefined) throw new Error('members: --hub ws://host:port (any member of the cluster) is required')
  const secret = await readClusterSecret(values['cluster-secret-file'])
  if (secret === undefined) throw new Error(`members: the cluster secret is needed: --cluster-secret-file F or ${CLUSTER_SECRET_ENV}`)
  const [op, arg] = positionals
  let req: AdminRequest
  if (op === 'list') req = { op: 'list' }
  else if (op === 'remove' && arg !== undefined) req = { op: 'remove', id: arg }
  else if (op === 'add' && arg !== undefined && arg.indexOf('=') > 0) req = { op: 'add', id: arg.slice(0, arg.indexOf('=')), url: arg.slice(arg.indexOf('=') + 1) }
  else throw new Error(`members: unknown command ${JSON.stringify(positionals.join(' '))}\n${MEMBERS_USAGE}`)
  const timeoutMs = values['timeout-ms'] === undefined ? 60_000 : Number(values['timeout-ms'])
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const a = await adminRequest(values.hub, secret, req, { timeoutMs: Math.max(1, deadline - Date.now()) })
    if (a.ok) { out(values.json === true ? JSON.stringify(a) + '\n' : format(a)); return a }
    // a leader that removed itself handed over first: ask again, the new leader runs it
    if (a.retry !== true || Date.now() >= deadline) throw new Error(`members ${op}: ${a.error}`)
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}

/**
 * The hub's log: one JSON object per line on stdout (warnings and errors on
 * stderr), easy to read and to grep or ship to a log store.
 *
 * @module
 */
import type { Logger } from 'aegis-replication'

type Level = 'debug' | 'info' | 'warn' | 'error'
const ORDER: Level[] = ['debug', 'info', 'warn', 'error']

/** A {@link Logger} writing `{"time","level","msg",…fields}` lines; levels below `level` are dropped. */
export const jsonLineLogger = (level: Level = 'info'): Logger => {
  const min = ORDER.indexOf(level)
  const at = (l: Level) => (msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER.indexOf(l) < min) return
    const line = JSON.stringify({ time: new Date().toISOString(), level: l, msg, ...fields }) + '\n'
    if (l === 'warn' || l === 'error') process.stderr.write(line)
    else process.stdout.write(line)
  }
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

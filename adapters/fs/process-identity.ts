/**
 * Who holds a lock, and whether that holder is provably gone: a process is
 * named by its pid, host name, boot id and start time, so a reboot or a
 * recycled pid is not mistaken for the holder.
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { hostname } from 'node:os'

/** A process, as written into a lock file. */
export interface ProcessIdentity {
  pid: number
  host: string
  /** `/proc/sys/kernel/random/boot_id` where it exists (Linux). */
  bootId?: string
  /** Field 22 of `/proc/<pid>/stat` (clock ticks after boot) where it exists. */
  startTime?: string
}

const readTrimmed = async (path: string): Promise<string | undefined> => {
  try {
    return (await readFile(path, 'utf8')).trim()
  } catch {
    return undefined
  }
}

/** The start time of process `pid`, from `/proc/<pid>/stat` field 22; `undefined` where there is no /proc or no such process. */
export const processStartTime = async (pid: number): Promise<string | undefined> => {
  const stat = await readTrimmed(`/proc/${pid}/stat`)
  if (stat === undefined) return undefined
  // field 2 (the command name, in parentheses) may hold spaces and ')': count from the last ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return fields[22 - 3]
}

let self: Promise<ProcessIdentity> | undefined

/** This process's identity. */
export const currentProcess = async (): Promise<ProcessIdentity> => {
  self ??= (async () => {
    const bootId = await readTrimmed('/proc/sys/kernel/random/boot_id')
    const startTime = await processStartTime(process.pid)
    return {
      pid: process.pid,
      host: hostname(),
      ...(bootId === undefined ? {} : { bootId }),
      ...(startTime === undefined ? {} : { startTime })
    }
  })()
  return await self
}

const exists = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' // there, but not ours to signal
  }
}

/**
 * Whether `holder` is provably gone, seen from `me`: on this host, and
 * either booted differently, or its pid names no process, or names one that
 * started at another time (a recycled pid). A holder on another host is
 * never provably gone.
 */
export const isGone = async (holder: ProcessIdentity, me: ProcessIdentity): Promise<boolean> => {
  if (holder.host !== me.host) return false
  if (holder.bootId !== undefined && me.bootId !== undefined && holder.bootId !== me.bootId) return true
  if (!Number.isSafeInteger(holder.pid) || holder.pid < 1 || !exists(holder.pid)) return true
  if (holder.startTime === undefined) return false
  const now = await processStartTime(holder.pid)
  if (now === undefined) return me.startTime !== undefined // /proc works here, so the process just ended
  return now !== holder.startTime
}

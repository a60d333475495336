/** Attacks with raw TCP sockets: slowloris, a WebSocket that never answers pings. */
import { connect as tcpConnect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { type HubProcess, waitFor } from './harness.js'
import type { AttackLimits } from './common.js'

// ---------------------------------------------------------------- slowloris

/**
 * `sockets` raw TCP connections (over `ips` source addresses) each send an
 * upgrade request one header line a second, never finishing. While they
 * are open /healthz answers and the bystander is acknowledged (checked by
 * `during`); the hub closes each within its header timeout (+ slack).
 */
export const slowloris = async (hub: HubProcess, l: AttackLimits, sockets: number, ips: number, during: () => Promise<void>): Promise<void> => {
  const open: Socket[] = []
  let closed = 0
  const timers: Array<ReturnType<typeof setInterval>> = []
  try {
    for (let i = 0; i < sockets; i++) {
      const s = tcpConnect({ host: '127.0.0.1', port: hub.port, localAddress: `127.12.${Math.floor((i % ips) / 250)}.${(i % ips) % 250 + 1}` })
      s.on('error', () => {})
      s.on('close', () => { closed++ })
      s.once('connect', () => {
        s.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${hub.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`)
        let n = 0
        timers.push(setInterval(() => { if (!s.destroyed) s.write(`X-Slow-${n++}: ${'a'.repeat(8)}\r\n`) }, 1000))
      })
      open.push(s)
    }
    await waitFor(() => open.every(s => !s.connecting), `${sockets} slow sockets to connect`)
    await during()
    await waitFor(() => closed === sockets, () => `the hub to close all ${sockets} slow-header sockets (header timeout ${l.headerTimeoutMs} ms; ${closed} closed)`, l.headerTimeoutMs + 30_000)
  } finally {
    for (const t of timers) clearInterval(t)
    for (const s of open) s.destroy()
  }
}

/**
 * A WebSocket that completed its upgrade but never answers pings is closed
 * by the hub within a few ping intervals.
 */
export const silentWebSocket = async (hub: HubProcess, l: AttackLimits): Promise<void> => {
  const s = tcpConnect({ host: '127.0.0.1', port: hub.port, localAddress: '127.13.0.1' })
  let head = ''
  let closed = false
  s.on('error', () => {})
  s.on('close', () => { closed = true })
  s.on('data', (d: Buffer) => { if (head.length < 4096) head += d.toString('latin1') })
  try {
    await new Promise<void>((resolve, reject) => { s.once('connect', () => resolve()); s.once('error', reject) })
    s.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${hub.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`)
    await waitFor(() => head.includes('\r\n\r\n'), 'the upgrade answer')
    if (!head.startsWith('HTTP/1.1 101')) throw new Error(`the upgrade was refused: ${head.split('\r\n')[0]}`)
    // read everything (pings included), answer nothing
    await waitFor(() => closed, `the hub to close a WebSocket that never answers pings (ping interval ${l.pingIntervalMs} ms)`, 3 * l.pingIntervalMs + 30_000)
  } finally { s.destroy() }
}

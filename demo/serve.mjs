// Serves the built demo (demo/dist/) from the hub's own HTTP server, through
// createHub's `http` option: GET and HEAD of files that exist, with their
// content types; anything else (/healthz, /metrics, unknown paths) is left
// to the hub. Paths cannot leave the directory: `..` and dot segments,
// encoded or not, backslashes and NUL are refused, and the resolved real
// path must lie inside it.
import { createReadStream } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import { extname, resolve, sep } from 'node:path'

export const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8'
}

/**
 * An `http` handler for createHub serving `dir`: resolves to true when it
 * answered the request, false to let the hub answer.
 */
export const demoHandler = (dir) => {
  const base = resolve(dir)
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false
    let path
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname)
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('bad path\n')
      return true
    }
    if (path.endsWith('/')) path += 'index.html'
    if (path.includes('\0') || path.includes('\\') || path.split('/').some(s => s.startsWith('.'))) return false
    const type = CONTENT_TYPES[extname(path)]
    if (type === undefined) return false
    let file
    let info
    try {
      file = await realpath(resolve(base, `.${path}`))
      if (!file.startsWith((await realpath(base)) + sep)) return false
      info = await stat(file)
    } catch {
      return false // not there: the hub answers 404
    }
    if (!info.isFile()) return false
    const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`
    const headers = {
      'content-type': type,
      'content-length': String(info.size),
      // the service worker caches the app; the browser revalidates each time
      'cache-control': 'no-cache',
      etag,
      'x-content-type-options': 'nosniff'
    }
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag, 'cache-control': 'no-cache' }).end()
      return true
    }
    res.writeHead(200, headers)
    if (req.method === 'HEAD') { res.end(); return true }
    const stream = createReadStream(file)
    stream.on('error', () => res.destroy())
    res.on('close', () => stream.destroy())
    stream.pipe(res)
    return true
  }
}

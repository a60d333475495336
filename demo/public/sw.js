// The demo's service worker: caches the app shell (HTML, CSS, the bundled
// app with the library, manifest, icon) at install, and serves it cache-first
// so the board opens with no network; the board's data is in IndexedDB.
// The build fills in VERSION (a hash of the shell) and SHELL; a new build
// is a new cache, and the old one is dropped once the new worker activates.
const VERSION = '__VERSION__'
const SHELL = __SHELL__
const CACHE = `aegis-demo-${VERSION}`
const scope = new URL(self.registration.scope)
const shellUrls = new Set(SHELL.map(p => new URL(p, scope).href))
const INDEX = new URL('./index.html', scope).href

self.addEventListener('install', event => {
  event.waitUntil(caches.open(CACHE).then(cache => cache.addAll([...shellUrls])).then(() => self.skipWaiting()))
})

self.addEventListener('activate', event => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('aegis-demo-') && key !== CACHE) await caches.delete(key)
    }
    await self.clients.claim()
  })())
})

self.addEventListener('fetch', event => {
  const req = event.request
  if (req.method !== 'GET') return
  const url = new URL(req.url)
  if (url.origin !== scope.origin) return
  // the app's page, whatever its query (?board=x), is the shell's index.html
  const page = req.mode === 'navigate' && (url.pathname === scope.pathname || url.href.split('?')[0] === INDEX)
  const key = page ? INDEX : url.origin + url.pathname
  if (!shellUrls.has(key)) return // /healthz, /metrics, …: the network's business
  event.respondWith((async () => {
    const cached = await caches.match(key, { cacheName: CACHE })
    return cached ?? fetch(req)
  })())
})

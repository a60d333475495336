/**
 * Helpers for browser tests that run TypeScript sources in Chromium:
 * bundle entry points straight from `src/` and `adapters/` (the package
 * name mapped to `src/index.ts`, as vitest and tsconfig map it), serve them
 * on 127.0.0.1, and launch Debian's Chromium with the flags from
 * TOOLCHAIN.md.
 */
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { nodeResolve } from '@rollup/plugin-node-resolve'
import typescript from '@rollup/plugin-typescript'
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions } from 'playwright-core'
import { rollup, type Plugin } from 'rollup'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--component-updater=url-source=http://127.0.0.1:9/'
]

/**
 * Extra flags for WebRTC between pages on loopback. Chromium hides host ICE
 * candidates behind mDNS names (`WebRtcHideLocalIpsWithMdns`) and, without
 * `--allow-loopback-in-peer-connection`, drops 127.0.0.1 candidates; the
 * contexts also need `permissions: ['camera', 'microphone']`, without which
 * loopback candidates are filtered out. Chromium keeps only the last
 * `--disable-features=`, so this repeats Playwright's whole list.
 */
export const WEBRTC_LOOPBACK_ARGS = [
  '--allow-loopback-in-peer-connection',
  '--disable-features=AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,ThirdPartyStoragePartitioning,AvoidCorsURLLoaderRestartOnRedirect,TcpPortRandomizationWin,OptimizationHints,NetworkTimeServiceQuerying,AimEnabled,PreconnectToSearch,WebRtcHideLocalIpsWithMdns'
]

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const ENTRY = '\0browser-test-entry'

/** Maps `aegis-replication` and `aegis-replication/<area>` to the TypeScript sources. */
const packageSources = (): Plugin => ({
  name: 'aegis-replication-sources',
  resolveId (id) {
    if (id === 'aegis-replication') return `${ROOT}src/index.ts`
    if (id.startsWith('aegis-replication/')) {
      const area = id.slice('aegis-replication/'.length)
      for (const p of [`${ROOT}src/${area}/index.ts`, `${ROOT}adapters/${area}/index.ts`]) if (existsSync(p)) return p
    }
    return null
  }
})

/** Bundles `input` (resolved first by `entry`) with the package mapped to its sources; fails on any import left. */
const bundleTo = async (input: string, entry: Plugin, outFile: string, options: BundleOptions): Promise<void> => {
  const bundle = await rollup({
    input,
    external: options.external ?? [],
    plugins: [
      entry,
      ...(options.plugins ?? []),
      packageSources(),
      nodeResolve({ browser: true }),
      typescript({
        tsconfig: `${ROOT}tsconfig.build.json`,
        compilerOptions: { declaration: false, declarationMap: false, sourceMap: false, noEmit: false, outDir: undefined },
        // type errors are the tsc runs' business (a test's `import type` puts a script in them)
        noEmitOnError: false
      })
    ],
    onwarn: (w, warn) => {
      if (w.code === 'UNRESOLVED_IMPORT') throw new Error(`bundling for the browser: ${w.message}`)
      if (w.plugin === 'typescript') return
      warn(w)
    }
  })
  try {
    const { output } = await bundle.write({ file: outFile, format: 'es', inlineDynamicImports: options.inlineDynamicImports })
    const imports = output[0].imports
    if (imports.length > 0) throw new Error(`the browser bundle still imports ${imports.join(', ')}`)
  } finally {
    await bundle.close()
  }
}

/** `external`: specifiers left as imports (e.g. an optional adapter a page loads dynamically); `plugins`: run before the package resolver. */
export interface BundleOptions { inlineDynamicImports?: boolean, external?: string[], plugins?: Plugin[] }

/**
 * Bundles one ES module for the page that re-exports each of `modules`
 * (export name → package specifier, e.g. `{ core: 'aegis-replication' }`)
 * as a namespace, with every dependency inlined and one copy of the core.
 */
export const bundleForPage = async (
  modules: Record<string, string>,
  outFile: string,
  options: BundleOptions = {}
): Promise<void> => {
  const entry: Plugin = {
    name: 'browser-test-entry',
    resolveId: id => id === ENTRY ? ENTRY : null,
    load: id => id === ENTRY
      ? Object.entries(modules).map(([name, spec]) => `export * as ${name} from ${JSON.stringify(spec)}`).join('\n')
      : null
  }
  await bundleTo(ENTRY, entry, outFile, options)
}

/**
 * `webrtc-adapter`'s ES build imports the CommonJS package `sdp`
 * (`module.exports = SDPUtils`); apps' bundlers convert it, this harness has
 * no CommonJS plugin: this wraps that one file as an ES module.
 */
export const sdpAsEsm = (): Plugin => ({
  name: 'sdp-as-esm',
  resolveId: id => id === 'sdp' ? '\0sdp-esm' : null,
  load: async id => id === '\0sdp-esm'
    ? `const module = { exports: {} };\n${await readFile(`${ROOT}node_modules/sdp/sdp.js`, 'utf8')}\nexport default module.exports;\n`
    : null
})

/**
 * Bundles one app script (a page's module, a worker script; e.g. an
 * example) into `outFile`, everything it imports inlined and the package
 * mapped to the sources as in {@link bundleForPage}, keeping its exports
 * and its top-level statements (the entry is resolved with
 * `moduleSideEffects: true`, whatever the repo's `sideEffects: false`
 * says, so a worker script that only calls `exposeDoc` stays).
 */
export const bundleScript = async (
  input: string,
  outFile: string,
  options: BundleOptions = {}
): Promise<void> => {
  const entry: Plugin = {
    name: 'browser-test-script',
    resolveId: (id, importer) => importer === undefined && id === input ? { id: input, moduleSideEffects: true } : null
  }
  await bundleTo(input, entry, outFile, options)
}

/**
 * An `http` handler for createHub (`http: fileRoutes(files)`) that serves
 * `files` (URL path → file and content type) and leaves every other path
 * to the hub; so a hub serves a page on its own origin, as `npm start`
 * serves the demo.
 */
export const fileRoutes = (files: Record<string, { path: string, type: string }>) =>
  async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const file = files[new URL(req.url ?? '/', 'http://127.0.0.1').pathname]
    if (file === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) return false
    const body = await readFile(file.path)
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body)
    return true
  }

/** Serves `files` (URL path → file and content type) on an ephemeral port of 127.0.0.1. */
export const serve = async (files: Record<string, { path: string, type: string }>): Promise<{ server: Server, origin: string }> => {
  const server = createServer((req, res) => {
    const name = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
    const file = files[name]
    if (file === undefined) { res.writeHead(404).end(); return }
    readFile(file.path).then(
      body => res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(body),
      err => res.writeHead(500).end(String(err))
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  return { server, origin: `http://127.0.0.1:${port}` }
}

/**
 * Writes `html` as `dir/index.html` and the bundle of `modules` (see
 * {@link bundleForPage}) as `dir/bundle.js`, and serves them at `/` and
 * `/bundle.js` (plus `extra` routes) on 127.0.0.1.
 */
export const servePage = async (
  dir: string,
  html: string,
  modules: Record<string, string>,
  options: BundleOptions = {},
  extra: Record<string, { path: string, type: string }> = {}
): Promise<{ server: Server, origin: string }> => {
  await bundleForPage(modules, join(dir, 'bundle.js'), options)
  await writeFile(join(dir, 'index.html'), html)
  return await serve({
    '/': { path: join(dir, 'index.html'), type: 'text/html; charset=utf-8' },
    '/bundle.js': { path: join(dir, 'bundle.js'), type: 'text/javascript; charset=utf-8' },
    ...extra
  })
}

/** A new context of `browser` that refuses every request not to 127.0.0.1 before it leaves the browser. */
export const loopbackContext = async (browser: Browser, options: BrowserContextOptions = {}): Promise<BrowserContext> => {
  const context = await browser.newContext(options)
  await context.route(url => url.hostname !== '127.0.0.1', route => route.abort('blockedbyclient'))
  return context
}

export const closeServer = async (server: Server): Promise<void> => {
  server.closeAllConnections()
  await new Promise<void>(resolve => server.close(() => resolve()))
}

/** Launches Debian's Chromium (with `extraArgs`, e.g. {@link WEBRTC_LOOPBACK_ARGS}), or explains how to get it. */
export const launchChromium = async (extraArgs: string[] = []): Promise<Browser> => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}. Install Debian's, as root:\n\n    apt-get update && apt-get install -y chromium\n\n(or set AEGIS_SKIP_BROWSER=1 to skip the browser tests)`)
  }
  return await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs], timeout: 30_000 })
}

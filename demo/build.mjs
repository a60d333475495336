// Builds what the demo needs, and only when it is stale: the package
// (rollup.config.mjs → dist/) and the demo app (demo/rollup.config.mjs →
// demo/dist/). A step is skipped when every output is newer than every
// source. Shows a progress line while a step builds.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { rollup } from 'rollup'
import { loadConfigFile } from 'rollup/loadConfigFile'

export const root = fileURLToPath(new URL('..', import.meta.url))

/** Newest mtime under `paths` (files or directories), and the file it belongs to. */
const newest = (paths) => {
  let best = { time: 0, file: '' }
  const visit = (p) => {
    if (!existsSync(p)) return
    const st = statSync(p)
    if (st.isDirectory()) {
      for (const name of readdirSync(p)) if (name !== 'node_modules' && name !== 'dist') visit(join(p, name))
    } else if (st.mtimeMs > best.time) {
      best = { time: st.mtimeMs, file: p }
    }
  }
  for (const p of paths) visit(p)
  return best
}

/** Oldest mtime of `files`, or 0 (stale) if one is missing. */
const oldest = (files) => {
  let time = Infinity
  for (const f of files) {
    if (!existsSync(f)) return 0
    time = Math.min(time, statSync(f).mtimeMs)
  }
  return time
}

/** The package's entry points, as rollup.config.mjs finds them. */
const packageEntries = () => {
  const names = ['index', 'transport', 'testing', 'sync', 'config']
  for (const n of ['raft', 'cluster', 'transaction']) if (existsSync(join(root, `src/${n}/index.ts`))) names.push(n)
  for (const n of existsSync(join(root, 'adapters')) ? readdirSync(join(root, 'adapters')) : []) {
    if (existsSync(join(root, `adapters/${n}/index.ts`))) names.push(n)
  }
  return names
}

const steps = () => [
  {
    name: 'the package → dist/',
    config: join(root, 'rollup.config.mjs'),
    sources: ['src', 'adapters', 'rollup.config.mjs', 'tsconfig.json', 'tsconfig.build.json', 'package.json'].map(p => join(root, p)),
    outputs: packageEntries().flatMap(n => [join(root, `dist/${n}.js`), join(root, `dist/${n}.d.ts`)])
  },
  {
    name: 'the demo app → demo/dist/',
    config: join(root, 'demo/rollup.config.mjs'),
    sources: [join(root, 'demo/src'), join(root, 'demo/public'), join(root, 'demo/rollup.config.mjs'), ...packageEntries().map(n => join(root, `dist/${n}.js`))],
    outputs: ['index.html', 'app.js', 'sync-worker.js', 'sw.js', 'app.css', 'manifest.webmanifest'].map(f => join(root, 'demo/dist', f))
  }
]

const SPINNER = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏'

/** Runs one rollup config file (all its builds), with a progress line. */
const runConfig = async (step, out) => {
  const cwd = process.cwd()
  process.chdir(root) // the root config names its files relative to the repository
  const t0 = Date.now()
  let modules = 0
  const warnings = []
  const tty = out.isTTY === true
  let frame = 0
  let lastLine = 0
  const line = () => `${step.name}: ${modules} modules, ${((Date.now() - t0) / 1000).toFixed(1)} s`
  const tick = setInterval(() => {
    if (tty) out.write(`\r\x1b[2K${SPINNER[frame++ % SPINNER.length]} building ${line()}`)
    else if (Date.now() - lastLine >= 5000) { lastLine = Date.now(); out.write(`  … building ${line()}\n`) }
  }, 120)
  try {
    const { options } = await loadConfigFile(step.config, {}, false)
    for (const input of options) {
      input.plugins = [...(input.plugins ?? []), { name: 'progress', transform () { modules++; return null } }]
      input.onwarn = (w) => { warnings.push(w) }
      input.onLog = undefined
      const bundle = await rollup(input)
      try {
        for (const output of input.output) await bundle.write(output)
      } finally {
        await bundle.close()
      }
    }
  } finally {
    clearInterval(tick)
    if (tty) out.write('\r\x1b[2K')
    process.chdir(cwd)
  }
  const typeWarnings = warnings.filter(w => w.plugin === 'typescript').length
  out.write(`✓ built ${step.name} in ${((Date.now() - t0) / 1000).toFixed(1)} s (${modules} modules${typeWarnings > 0 ? `; ${typeWarnings} type warnings, see npm run typecheck` : ''})\n`)
}

/**
 * Builds the stale steps. `force`: build everything. `out`: where progress
 * goes (a TTY gets a live line, anything else a line every 5 s).
 */
export const ensureBuilt = async ({ force = false, out = process.stdout } = {}) => {
  for (const step of steps()) {
    const src = newest(step.sources)
    const built = oldest(step.outputs)
    if (!force && built > src.time) {
      out.write(`✓ ${step.name} is up to date\n`)
      continue
    }
    const why = force ? 'asked to' : built === 0 ? 'not built yet' : `${relative(root, src.file)} changed`
    out.write(`• building ${step.name} (${why})\n`)
    await runConfig(step, out)
  }
}

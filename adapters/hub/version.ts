/**
 * The package's version for `aegis-hub --version`, read from the nearest
 * `package.json` named `aegis-replication` above this module (the source
 * tree, `dist/` or `node_modules/aegis-replication/dist/` alike).
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The version in the package.json above `from` (a module URL), or `'unknown'`. */
export const packageVersion = (from: string = import.meta.url): string => {
  let dir = dirname(fileURLToPath(from))
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown, version?: unknown }
      if (pkg.name === 'aegis-replication' && typeof pkg.version === 'string') return pkg.version
    } catch {
      // no package.json here (or not ours): look further up
    }
    const up = dirname(dir)
    if (up === dir) return 'unknown'
    dir = up
  }
}

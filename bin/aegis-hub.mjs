#!/usr/bin/env node
// The aegis-hub command: see `aegis-hub --help`. Runs the built bundle (dist/).
import { readFileSync } from 'node:fs'
import { runHubCli } from '../dist/hub.js'

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))

runHubCli(process.argv.slice(2), undefined, { version }).catch((err) => {
  process.stderr.write(`aegis-hub: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})

#!/usr/bin/env node
// The aegis-hub command: see `aegis-hub --help`. Runs the built bundle (dist/).
import { runHubCli } from '../dist/hub.js'

runHubCli(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`aegis-hub: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})

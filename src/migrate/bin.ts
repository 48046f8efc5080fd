#!/usr/bin/env node
// The `athanor` command: see `athanor --help` and docs/migrations.md.
// No top-level await: the same file is compiled to CommonJS too.
import { runCli } from './cli.js'

void runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})

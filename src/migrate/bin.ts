#!/usr/bin/env node
// The `athanor` command: see `athanor --help` and docs/migrations.md.
import { runCli } from './cli.js'

process.exitCode = await runCli(process.argv.slice(2))

#!/usr/bin/env node
// The benchmarks' peers (MikroORM, TypeORM, knex, tarn, generic-pool, pg-pool)
// live in bench/package.json, out of the library's install. This installs them
// on first use, and again when bench/package-lock.json changed since.
import { spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const bench = fileURLToPath(new URL('../bench/', import.meta.url))
const installed = `${bench}node_modules/.package-lock.json`
const stale = !existsSync(installed) || statSync(installed).mtimeMs < statSync(`${bench}package-lock.json`).mtimeMs
if (stale) {
  console.log('Installing the benchmark peers into bench/node_modules (once) ...')
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const result = spawnSync(npm, ['ci', '--prefix', bench, '--no-audit', '--no-fund'], { stdio: 'inherit' })
  if (result.status !== 0) process.exit(result.status ?? 1)
}

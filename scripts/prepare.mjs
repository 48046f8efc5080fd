#!/usr/bin/env node
// npm's `prepare` hook. `npm install git+…` runs `prepare` (not `prepack`) in
// its clone of the repository: that must build dist/, or the package has no
// code. In a development checkout, `npm install` runs it too, where dist/ is
// not needed (tsx and vitest run src/) and the build would add half a minute:
// skipped there. `npm pack` and `npm publish` run `prepack` (the build) just
// before `prepare`: skipped then too.
//
// A git dependency is prepared by npm's pacote: first `npm install` inside the
// clone (with _PACOTE_NO_PREPARE_ in its environment), then `prepare` run for
// the packing (with npm_package_resolved). Without either, and with npm run
// from this very directory, this is a developer's install. ATHANOR_BUILD=1
// forces the build.
import { spawnSync } from 'node:child_process'
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const env = process.env
const packageDir = realpathSync(fileURLToPath(new URL('..', import.meta.url)))
const invokedHere = env.INIT_CWD !== undefined && realpathSync(env.INIT_CWD) === packageDir
const asDependency = env._PACOTE_NO_PREPARE_ !== undefined || env.npm_package_resolved !== undefined
if (env.ATHANOR_BUILD !== '1') {
  if (env.npm_command === 'pack' || env.npm_command === 'publish') process.exit(0)
  if (invokedHere && !asDependency) {
    console.log('athanor: development install, dist/ not built (npm run build builds it)')
    process.exit(0)
  }
}
const build = fileURLToPath(new URL('./build.mjs', import.meta.url))
const result = spawnSync(process.execPath, [build], { stdio: 'inherit' })
process.exit(result.status ?? 1)

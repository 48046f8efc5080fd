'use strict'
// Run with --enable-source-maps: an athanor error's stack, from the CommonJS
// build (require) and from the ESM build (import), must be mapped to src/*.ts
// and name only files that the package ships.
const { existsSync } = require('node:fs')

function check(createEngine, label) {
  let error
  try {
    createEngine('nosuchdb://localhost/x')
  } catch (e) {
    error = e
  }
  if (!error) throw new Error(`${label}: createEngine accepted an unknown scheme`)
  const files = [...String(error.stack).matchAll(/((?:file:\/\/)?\/[^():\s]+):\d+:\d+/g)]
    .map((m) => m[1].replace(/^file:\/\//, ''))
    .filter((f) => f.includes('/node_modules/athanor/'))
  if (files.length === 0) throw new Error(`${label}: no athanor frame in the stack:\n${error.stack}`)
  const missing = files.filter((f) => !existsSync(f))
  if (missing.length > 0) throw new Error(`${label}: stack frames name files the package does not ship: ${missing.join(', ')}`)
  if (!files.every((f) => f.includes('/node_modules/athanor/src/'))) {
    throw new Error(`${label}: the source maps were not applied:\n${error.stack}`)
  }
  console.log(`${label}: ok (${files.length} athanor frames, all in shipped files, e.g. ${files[0].split('/node_modules/athanor/')[1]})`)
}

check(require('athanor').createEngine, 'stack, cjs build')
import('athanor')
  .then((m) => check(m.createEngine, 'stack, esm build'))
  .catch((error) => {
    console.error(error)
    process.exitCode = 1
  })

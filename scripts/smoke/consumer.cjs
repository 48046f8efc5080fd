'use strict'
const athanor = require('athanor')
const kysely = require('kysely')
const { run } = require('./scenario.cjs')

run(athanor, kysely, 'cjs (.cjs, require)').catch((error) => {
  console.error(error)
  process.exitCode = 1
})

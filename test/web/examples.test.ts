import { describe, expect, it } from 'vitest'
import { start as express } from '../../examples/express.js'
import { start as fastify } from '../../examples/fastify.js'
import { check } from '../../examples/framework-check.js'
import { start as hono } from '../../examples/hono.js'
import { start as nestjs } from '../../examples/nestjs.js'

describe('the framework examples run as their headers say', () => {
  for (const [name, start] of Object.entries({ express, fastify, hono, nestjs })) {
    it(`examples/${name}.ts on sqlite://`, async () => {
      const app = await start('sqlite://', 0)
      try {
        const lines = await check(app.port)
        expect(lines.map((l) => l.split(' -> ')[1].slice(0, 3))).toEqual(['201', '409', '200', '404'])
        expect(lines[1]).toContain('"error":"DB_INTEGRITY"')
      } finally {
        await app.close()
      }
    })
  }
})

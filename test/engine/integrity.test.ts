/**
 * Issue 8: an IntegrityError says which constraint broke (`kind`,
 * `constraint`, `table`, `column`) on every dialect, so an application maps
 * "duplicate email" without reading the driver's error.
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/create-engine.js'
import { FlushError, IntegrityError } from '../../src/index.js'
import type { Engine } from '../../src/engine/types.js'
import { MetaData, Model, integer, serial, sessionmaker, table, varchar } from '../../src/session/index.js'
import { SLOW_HOOK, SLOW_START, TARGETS, engineFor } from '../session/helpers.js'

const parent = table('integ_parent', { id: serial().primaryKey() })
const child = table('integ_child', {
  id: serial().primaryKey(),
  email: varchar(50).unique(),
  parentId: integer().references(() => parent.c.id).nullable(),
  n: integer().nullable(),
})
class Child extends Model(child) {}
const metadata = new MetaData(parent, child)

/** What each dialect can say; SQLite names no foreign key or unique constraint, MySQL no table for NOT NULL. */
interface Expected {
  readonly kind: string
  readonly constraint?: string | RegExp
  readonly table?: string
  readonly column?: string
}

for (const target of TARGETS) {
  describe.skipIf(!target.run)(`IntegrityError fields on ${target.name}`, () => {
    let engine: Engine<unknown>
    const pg = target.name === 'postgresql' || target.name === 'pglite'
    const mysql = target.name === 'mysql'
    const q = (name: string) => (mysql ? `\`${name}\`` : `"${name}"`)

    beforeAll(async () => {
      engine = engineFor(target, undefined, SLOW_START)
      await metadata.dropAll(engine)
      await metadata.createAll(engine)
      // A CHECK constraint of our own name (athanor declares none).
      await sql.raw('DROP TABLE IF EXISTS integ_checked').execute(engine.db)
      await sql.raw('CREATE TABLE integ_checked (id INTEGER PRIMARY KEY, n INTEGER, CONSTRAINT integ_n_positive CHECK (n > 0))').execute(engine.db)
      await sql.raw('INSERT INTO integ_parent (id) VALUES (1)').execute(engine.db)
      await sql.raw(`INSERT INTO integ_child (id, email, ${q('parentId')}) VALUES (1001, 'a@x', 1)`).execute(engine.db)
    }, SLOW_HOOK)
    afterAll(async () => {
      await sql.raw('DROP TABLE IF EXISTS integ_checked').execute(engine.db)
      await metadata.dropAll(engine)
      await engine.dispose()
    })

    const fail = async (text: string): Promise<IntegrityError> => {
      const error = await sql.raw(text).execute(engine.db).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(IntegrityError)
      return error as IntegrityError
    }
    const check = (e: IntegrityError, expected: Expected) => {
      expect(e.code).toBe('DB_INTEGRITY')
      expect(e.kind).toBe(expected.kind)
      if (expected.constraint instanceof RegExp) expect(e.constraint).toMatch(expected.constraint)
      else expect(e.constraint).toBe(expected.constraint)
      expect(e.table).toBe(expected.table)
      expect(e.column).toBe(expected.column)
    }

    it('a duplicate key names the unique constraint (or, on SQLite, its column)', async () => {
      const e = await fail(`INSERT INTO integ_child (id, email) VALUES (1002, 'a@x')`)
      if (pg) check(e, { kind: 'unique', constraint: /email/, table: 'integ_child', column: 'email' })
      else if (mysql) check(e, { kind: 'unique', constraint: /email/ })
      else check(e, { kind: 'unique', table: 'integ_child', column: 'email' })
    })

    it('a missing parent names the foreign key and its column', async () => {
      const e = await fail(`INSERT INTO integ_child (id, email, ${q('parentId')}) VALUES (1003, 'c@x', 99)`)
      if (pg) check(e, { kind: 'foreignKey', constraint: /parentId/, table: 'integ_child', column: 'parentId' })
      else if (mysql) check(e, { kind: 'foreignKey', constraint: /parentId|ibfk|fk/i, table: 'integ_child', column: 'parentId' })
      else check(e, { kind: 'foreignKey' })
    })

    it('a NULL in a NOT NULL column names the column', async () => {
      const e = await fail(`INSERT INTO integ_child (id, email) VALUES (1004, NULL)`)
      if (mysql) check(e, { kind: 'notNull', column: 'email' })
      else check(e, { kind: 'notNull', table: 'integ_child', column: 'email' })
    })

    it('a failed CHECK names the constraint', async () => {
      const e = await fail(`INSERT INTO integ_checked (id, n) VALUES (1, -1)`)
      if (target.name === 'sqlite') check(e, { kind: 'check', constraint: 'integ_n_positive' })
      else check(e, { kind: 'check', constraint: 'integ_n_positive', table: 'integ_checked' })
    })

    it('the same fields reach the application through a failed flush', async () => {
      const Session = sessionmaker({ bind: engine })
      const s = Session()
      try {
        s.add(new Child({ email: 'a@x' }))
        const error = await s.flush().catch((e: unknown) => e)
        expect(error).toBeInstanceOf(FlushError)
        const cause = (error as FlushError).cause as IntegrityError
        expect(cause).toBeInstanceOf(IntegrityError)
        expect(cause.kind).toBe('unique')
        if (!mysql) expect(cause.column).toBe('email')
      } finally {
        await s.close()
      }
    })

    it.skipIf(!pg)("PostgreSQL's DETAIL (which quotes the values) is kept, and dropped with hideParameters", async () => {
      const e = await fail(`INSERT INTO integ_child (id, email) VALUES (1005, 'a@x')`)
      expect(e.detail).toMatch(/Key \(email\)=\(a@x\) already exists/)
      const hidden = createEngine(target.url, { hideParameters: true, ...SLOW_START })
      try {
        if (target.name === 'pglite') return // one in-memory database per engine: nothing to collide with there
        const error = await sql`INSERT INTO integ_child (id, email) VALUES (${1006}, ${'a@x'})`.execute(hidden.db).catch((x: unknown) => x)
        expect(error).toBeInstanceOf(IntegrityError)
        expect((error as IntegrityError).detail).toBeUndefined()
        expect((error as IntegrityError).constraint).toMatch(/email/)
      } finally {
        await hidden.dispose()
      }
    })
  })
}

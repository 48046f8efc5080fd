// The plain-JavaScript consumers' scenario, given the modules as each consumer
// loaded them (consumer.mjs through import, consumer.cjs through require): a
// unit of work on an in-memory engine (insert, then load, change and commit),
// read back through engine.db, and one copy of Kysely (an InsertResult from
// engine.db is the consumer's own InsertResult). SMOKE_URL picks the database
// (default sqlite://).
'use strict'

exports.run = async function run(athanor, kysely, label) {
  const { createEngine, sessionmaker, table, serial, text, integer, MetaData, Model } = athanor
  const note = table('note', { id: serial().primaryKey(), body: text(), stars: integer() })
  class Note extends Model(note) {}

  const url = process.env.SMOKE_URL || 'sqlite://'
  const engine = createEngine(url)
  await new MetaData(note).createAll(engine)
  const session = sessionmaker({ bind: engine })()
  session.add(new Note({ body: 'first', stars: 1 }))
  session.add(new Note({ body: 'second', stars: 2 }))
  await session.commit()
  const [first] = await session.query(Note, (q) => q.where('body', '=', 'first'))
  first.stars = 5
  await session.commit()
  await session.close()

  const rows = await engine.db.selectFrom('note').select(['body', 'stars']).orderBy('id').execute()
  const expected = JSON.stringify([{ body: 'first', stars: 5 }, { body: 'second', stars: 2 }])
  if (JSON.stringify(rows) !== expected) throw new Error(`${label}: read back ${JSON.stringify(rows)}, expected ${expected}`)
  const inserted = await engine.db.insertInto('note').values({ body: 'third', stars: 3 }).executeTakeFirstOrThrow()
  if (!(inserted instanceof kysely.InsertResult)) {
    throw new Error(`${label}: engine.db's InsertResult is not the application's kysely InsertResult: two copies of kysely`)
  }
  if (engine.pool.checkedOut() !== 0) throw new Error(`${label}: a connection is still checked out`)
  await engine.dispose()
  console.log(`${label}: ok (unit of work on ${url} committed and read back, one kysely)`)
}

import * as athanor from 'athanor'
import * as kysely from 'kysely'
import scenario from './scenario.cjs'

await scenario.run(athanor, kysely, 'esm (.mjs, import)')

// What `import ... from 'athanor'` means inside the temporary projects of the migration tests:
// the source entry, so the migration files and the runner share one copy of each module.
export * from '../../../src/index.js'

import { describe, expect, it } from 'vitest'
import { EngineOptionError } from '../../src/engine/errors.js'
import { ENGINE_OPTION_NAMES, ISOLATION_LEVELS, POOL_CLASS_NAMES, validateEngineOptions } from '../../src/engine/options.js'
import type { EngineOptions } from '../../src/engine/types.js'
import { AthanorError } from '../../src/pool/errors.js'

function optionError(options: unknown): EngineOptionError {
  try {
    validateEngineOptions(options)
  } catch (e) {
    expect(e).toBeInstanceOf(EngineOptionError)
    expect(e).toBeInstanceOf(AthanorError)
    expect((e as EngineOptionError).code).toBe('ENGINE_OPTION')
    return e as EngineOptionError
  }
  throw new Error(`accepted: ${JSON.stringify(options)}`)
}

const pinoLike = { info() {}, warn() {}, error() {}, debug() {}, fatal() {}, child() { return this } }

describe('validateEngineOptions: accepts', () => {
  it.each<[string, EngineOptions | undefined]>([
    ['no options', undefined],
    ['an empty object', {}],
    ['every engine option', {
      poolClass: 'static', isolationLevel: 'SERIALIZABLE', echo: 'debug', echoPool: true, logger: console,
      hideParameters: true, connectArgs: { ssl: false }, statementTimeout: 0,
    }],
    ['pool options (their values are the pool\'s to check)', { poolSize: 5, maxOverflow: -1, poolTimeout: 100, poolPrePing: true, name: 'main' }],
    ['a pino-style logger', { logger: pinoLike }],
    ['a pool factory', { poolClass: (() => { throw new Error('not called') }) as unknown as EngineOptions['poolClass'] }],
    ['undefined values as not given', { echo: undefined, isolationLevel: undefined, logger: undefined }],
    ['AUTOCOMMIT', { isolationLevel: 'AUTOCOMMIT' }],
  ])('%s', (_, options) => {
    expect(() => validateEngineOptions(options)).not.toThrow()
  })

  it('every isolation level and pool class name', () => {
    for (const isolationLevel of ISOLATION_LEVELS) validateEngineOptions({ isolationLevel })
    for (const poolClass of POOL_CLASS_NAMES) validateEngineOptions({ poolClass })
  })
})

describe('validateEngineOptions: rejects', () => {
  it('a non-object', () => {
    for (const options of [null, 5, 'poolSize=5', [], true]) {
      expect(optionError(options).message).toMatch(/engine options must be an object/)
    }
  })

  it('an unknown name, listing every known one', () => {
    const error = optionError({ pool_size: 5 })
    expect(error.option).toBe('pool_size')
    expect(error.message).toContain('unknown engine option "pool_size"')
    for (const name of [...ENGINE_OPTION_NAMES, 'poolSize', 'maxOverflow', 'poolTimeout', 'poolRecycle', 'poolPrePing']) {
      expect(error.message).toContain(name)
    }
  })

  it.each([
    ['pool_size', 'poolSize'],
    ['max_overflow', 'maxOverflow'],
    ['pool_pre_ping', 'poolPrePing'],
    ['isolation_level', 'isolationLevel'],
    ['echo_pool', 'echoPool'],
    ['poolTimout', 'poolTimeout'],
    ['hideParams', undefined],
  ])('suggests the likely name for %s', (given, meant) => {
    const message = optionError({ [given]: 1 }).message
    if (meant) expect(message).toContain(`(did you mean "${meant}"?)`)
    else expect(message).not.toContain('did you mean')
  })

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['isolationLevel SNAPSHOT', { isolationLevel: 'SNAPSHOT' }, /isolationLevel: expected one of 'READ UNCOMMITTED'.*'AUTOCOMMIT', got "SNAPSHOT"/],
    ['isolationLevel in lower case', { isolationLevel: 'serializable' }, /isolationLevel/],
    ['echo "yes"', { echo: 'yes' }, /echo: expected true, false or 'debug', got "yes"/],
    ['echo 1', { echo: 1 }, /echo: .* got 1/],
    ['echoPool "debug!"', { echoPool: 'debug!' }, /echoPool/],
    ['hideParameters "true"', { hideParameters: 'true' }, /hideParameters: expected a boolean, got "true"/],
    ['a logger without warn and error', { logger: { info() {} } }, /logger: .*bad: warn, error/],
    ['a logger that is a string', { logger: 'console' }, /logger/],
    ['a logger whose debug is not a function', { logger: { ...pinoLike, debug: 'x' } }, /logger: .*bad: debug/],
    ['statementTimeout -1', { statementTimeout: -1 }, /statementTimeout: expected a finite number of ms >= 0 .*got -1/],
    ['statementTimeout "5s"', { statementTimeout: '5s' }, /statementTimeout: .*got "5s"/],
    ['statementTimeout Infinity', { statementTimeout: Infinity }, /statementTimeout/],
    ['statementTimeout NaN', { statementTimeout: NaN }, /statementTimeout/],
    ['poolClass "QueuePool"', { poolClass: 'QueuePool' }, /poolClass: expected one of 'queue', 'null', 'static', 'assertion', 'single', or a pool factory function, got "QueuePool"/],
    ['poolClass an object', { poolClass: {} }, /poolClass: .*got an object/],
    ['connectArgs null', { connectArgs: null }, /connectArgs: expected an object, got null/],
    ['connectArgs an array', { connectArgs: [] }, /connectArgs: expected an object, got an array/],
    ['connectArgs a string', { connectArgs: 'ssl=true' }, /connectArgs/],
  ])('%s', (_, options, message) => {
    const error = optionError(options)
    expect(error.message).toMatch(message)
    expect(error.option).toBe(Object.keys(options)[0])
  })

  it('never prints a long string value in full (it might be a secret)', () => {
    const secret = 'x'.repeat(30) + 'TOPSECRET' + 'y'.repeat(30)
    expect(optionError({ isolationLevel: secret }).message).not.toContain('TOPSECRET')
  })
})

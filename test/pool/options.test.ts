import { describe, expect, it } from 'vitest'
import { AthanorError, PoolOptionError, QueuePool, resolvePoolOptions, type PoolOptions } from '../../src/pool/index.js'
import { FakeDriver } from '../support/fake-driver.js'

describe('pool options', () => {
  it('fills in the documented defaults', () => {
    expect(resolvePoolOptions()).toEqual({
      poolSize: 5,
      maxOverflow: 10,
      poolTimeout: 30_000,
      poolRecycle: -1,
      poolRecycleJitter: 0,
      poolPrePing: false,
      poolPrePingTimeout: 5_000,
      poolUseLifo: false,
      poolResetOnReturn: 'rollback',
      minIdle: 0,
      idleTimeout: -1,
      maxUses: -1,
      connectTimeout: 10_000,
      connectBackoff: 100,
      connectBackoffMax: 1_000,
      leakDetectionThreshold: -1,
      name: '',
    })
  })

  it('returns a frozen object', () => {
    expect(Object.isFrozen(resolvePoolOptions({ poolSize: 1 }))).toBe(true)
  })

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['negative poolSize', { poolSize: -1 }, /poolSize: expected an integer >= 0, got -1/],
    ['fractional poolSize', { poolSize: 1.5 }, /poolSize.*got 1\.5/],
    ['NaN poolSize', { poolSize: NaN }, /poolSize.*got NaN/],
    ['string poolSize', { poolSize: '5' }, /poolSize.*got "5"/],
    ['maxOverflow below -1', { maxOverflow: -2 }, /maxOverflow.*got -2/],
    ['string maxOverflow', { maxOverflow: 'ten' }, /maxOverflow.*got "ten"/],
    ['zero capacity', { poolSize: 0, maxOverflow: 0 }, /maxOverflow.*no connection could ever open/],
    ['zero poolTimeout', { poolTimeout: 0 }, /poolTimeout.*got 0/],
    ['negative poolTimeout', { poolTimeout: -5 }, /poolTimeout.*got -5/],
    ['infinite poolTimeout', { poolTimeout: Infinity }, /poolTimeout.*got Infinity/],
    ['string poolTimeout', { poolTimeout: '30s' }, /poolTimeout.*got "30s"/],
    ['poolRecycle -2', { poolRecycle: -2 }, /poolRecycle.*got -2/],
    ['poolRecycle 0', { poolRecycle: 0 }, /poolRecycle.*got 0/],
    ['jitter without recycle', { poolRecycleJitter: 10 }, /poolRecycleJitter.*got 10/],
    ['jitter above recycle', { poolRecycle: 100, poolRecycleJitter: 200 }, /poolRecycleJitter.*got 200/],
    ['string prePing', { poolPrePing: 'yes' }, /poolPrePing: expected a boolean, got "yes"/],
    ['number lifo', { poolUseLifo: 1 }, /poolUseLifo.*got 1/],
    ['bad reset mode', { poolResetOnReturn: 'abort' }, /poolResetOnReturn.*got "abort"/],
    ['minIdle above poolSize', { poolSize: 2, minIdle: 3 }, /minIdle.*<= 2, got 3/],
    ['negative minIdle', { minIdle: -1 }, /minIdle.*got -1/],
    ['idleTimeout 0', { idleTimeout: 0 }, /idleTimeout.*got 0/],
    ['maxUses 0', { maxUses: 0 }, /maxUses.*got 0/],
    ['fractional maxUses', { maxUses: 2.5 }, /maxUses.*got 2\.5/],
    ['connectTimeout 0', { connectTimeout: 0 }, /connectTimeout.*got 0/],
    ['negative back-off', { connectBackoff: -1 }, /connectBackoff.*got -1/],
    ['back-off max below back-off', { connectBackoff: 500, connectBackoffMax: 100 }, /connectBackoffMax.*got 100/],
    ['leak threshold 0', { leakDetectionThreshold: 0 }, /leakDetectionThreshold.*got 0/],
    ['number name', { name: 5 }, /name: expected a string, got 5/],
    ['object for a number', { poolSize: {} }, /poolSize.*got an object/],
    ['unknown option', { poolsize: 5 }, /unknown pool option "poolsize" \(did you mean "poolSize"\?\)/],
    ['snake_case option', { pool_size: 5 }, /unknown pool option "pool_size" \(did you mean "poolSize"\?\)/],
    ['unrelated option', { echo: true }, /unknown pool option "echo"$/],
  ]
  it.each(bad)('rejects %s with a PoolOptionError naming it', (_label, options, message) => {
    let error: unknown
    try {
      resolvePoolOptions(options as PoolOptions)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(PoolOptionError)
    expect(error).toBeInstanceOf(AthanorError)
    expect((error as PoolOptionError).code).toBe('POOL_OPTION')
    expect((error as Error).message).toMatch(message)
    expect((error as PoolOptionError).option).toBe(Object.keys(options).at(-1))
  })

  it('a pool constructor validates too, and so does the driver', () => {
    expect(() => new QueuePool(new FakeDriver(), { poolSize: -1 })).toThrow(PoolOptionError)
    expect(() => new QueuePool({ open: async () => 1 } as never)).toThrow(/invalid pool driver/)
  })

  it('accepts the edge values', () => {
    expect(resolvePoolOptions({ poolSize: 0, maxOverflow: -1, minIdle: 3 }).minIdle).toBe(3)
    expect(resolvePoolOptions({ poolRecycle: 1000, poolRecycleJitter: 0 }).poolRecycleJitter).toBe(0)
    expect(resolvePoolOptions({ poolResetOnReturn: null }).poolResetOnReturn).toBeNull()
    expect(resolvePoolOptions({ poolSize: undefined }).poolSize).toBe(5)
  })
})

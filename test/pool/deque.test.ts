import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Deque } from '../../src/pool/deque.js'

describe('Deque (the idle and waiter queues)', () => {
  it('behaves like an array under any sequence of operations, across growth', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('push' as const), v: fc.integer() }),
      fc.record({ k: fc.constant('unshift' as const), v: fc.integer() }),
      fc.record({ k: fc.constant('shift' as const) }),
      fc.record({ k: fc.constant('pop' as const) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const d = new Deque<number>(4)
        const model: number[] = []
        for (const o of ops) {
          if (o.k === 'push') (d.push(o.v), model.push(o.v))
          else if (o.k === 'unshift') (d.unshift(o.v), model.unshift(o.v))
          else if (o.k === 'shift') expect(d.shift()).toBe(model.shift())
          else expect(d.pop()).toBe(model.pop())
          expect(d.length).toBe(model.length)
          expect(d.peek()).toBe(model[0])
        }
        expect(Array.from({ length: d.length }, (_, i) => d.at(i))).toEqual(model)
        expect(d.drain()).toEqual(model)
        expect(d.length).toBe(0)
      }),
      { numRuns: 300 },
    )
  })

  it('retain keeps order', () => {
    const d = new Deque<number>()
    for (let i = 0; i < 20; i++) d.push(i)
    d.retain((x) => x % 3 === 0)
    expect(d.drain()).toEqual([0, 3, 6, 9, 12, 15, 18])
  })
})

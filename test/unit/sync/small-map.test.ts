import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { SmallMap } from '../../../src/sync/small-map.js'

describe('SmallMap', () => {
  it('behaves like a Map for any sequence of set, delete and get', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom('set', 'delete'), fc.constantFrom('a', 'b', 'c', 'd'), fc.nat(9))), (ops) => {
      const small = new SmallMap<number>()
      const ref = new Map<string, number>()
      for (const [op, k, v] of ops) {
        if (op === 'set') { small.set(k, v); ref.set(k, v) } else expect(small.delete(k)).toBe(ref.delete(k))
        expect(small.size).toBe(ref.size)
        for (const key of ['a', 'b', 'c', 'd']) {
          expect(small.get(key)).toBe(ref.get(key))
          expect(small.has(key)).toBe(ref.has(key))
        }
        expect(small.keys().sort()).toEqual([...ref.keys()].sort())
      }
    }))
  })
})

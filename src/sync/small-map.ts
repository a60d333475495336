/**
 * A string-keyed map that holds its first entry in two fields and only
 * allocates a `Map` for a second one. A hub keeps one per connection and
 * most connections join one room: this saves the `Map` (a few hundred bytes
 * each) for thousands of connections.
 *
 * @module
 */
export class SmallMap<V> {
  private k0: string | undefined = undefined
  private v0: V | undefined = undefined
  private rest: Map<string, V> | undefined = undefined

  get size (): number { return (this.k0 === undefined ? 0 : 1) + (this.rest?.size ?? 0) }

  get (key: string): V | undefined {
    return key === this.k0 ? this.v0 : this.rest?.get(key)
  }

  has (key: string): boolean { return key === this.k0 || (this.rest?.has(key) ?? false) }

  set (key: string, value: V): this {
    if (key === this.k0 || (this.k0 === undefined && !(this.rest?.has(key) ?? false))) {
      this.k0 = key
      this.v0 = value
    } else {
      (this.rest ??= new Map()).set(key, value)
    }
    return this
  }

  delete (key: string): boolean {
    if (key === this.k0) {
      this.k0 = undefined
      this.v0 = undefined
      return true
    }
    return this.rest?.delete(key) ?? false
  }

  keys (): string[] {
    const out = this.k0 === undefined ? [] : [this.k0]
    if (this.rest !== undefined) for (const k of this.rest.keys()) out.push(k)
    return out
  }
}

/**
 * UTF-8 encoding of a string into a reused scratch buffer, so hashing a
 * string key allocates nothing once the buffer has grown to fit the longest
 * key seen. The bytes equal `new TextEncoder().encode(s)`, lone surrogates
 * included (each becomes U+FFFD, `EF BF BD`).
 *
 * Internal to `src/hash/`: the buffer is overwritten by the next call, so a
 * caller must consume it before calling again (hashing is synchronous).
 *
 * @module
 */

let scratch: Uint8Array = /* @__PURE__ */ new Uint8Array(256)

/** The buffer that {@link encodeUtf8Scratch} last wrote into. */
export const utf8Scratch = (): Uint8Array => scratch

/**
 * Encode `s` as UTF-8 into the scratch buffer (see {@link utf8Scratch}) and
 * return the number of bytes written.
 */
export const encodeUtf8Scratch = (s: string): number => {
  const n = s.length
  // a UTF-16 code unit never takes more than 3 UTF-8 bytes
  if (n * 3 > scratch.length) scratch = new Uint8Array(Math.max(n * 3, scratch.length * 2))
  const b = scratch
  let p = 0
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i)
    if (c < 0x80) {
      b[p++] = c
    } else if (c < 0x800) {
      b[p++] = 0xc0 | (c >>> 6)
      b[p++] = 0x80 | (c & 0x3f)
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = i + 1 < n ? s.charCodeAt(i + 1) : 0
        if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          // a surrogate pair: one 4-byte sequence (4 bytes for 2 code units)
          i++
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00)
          b[p++] = 0xf0 | (c >>> 18)
          b[p++] = 0x80 | ((c >>> 12) & 0x3f)
          b[p++] = 0x80 | ((c >>> 6) & 0x3f)
          b[p++] = 0x80 | (c & 0x3f)
          continue
        }
        c = 0xfffd // a lone surrogate, as TextEncoder does
      }
      b[p++] = 0xe0 | (c >>> 12)
      b[p++] = 0x80 | ((c >>> 6) & 0x3f)
      b[p++] = 0x80 | (c & 0x3f)
    }
  }
  return p
}

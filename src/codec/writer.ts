/**
 * Write helpers on top of `lib0/encoding` for the hot paths.
 *
 * @module
 */
import * as encoding from 'lib0/encoding'

/** Like `encoding.writeVarString`, with a fast path for short ASCII strings (keys, ids). */
export const writeString = (e: encoding.Encoder, s: string): void => {
  const n = s.length
  if (n <= 24) {
    let ascii = true
    for (let i = 0; i < n; i++) if (s.charCodeAt(i) >= 0x80) { ascii = false; break }
    if (ascii) {
      encoding.writeUint8(e, n)
      for (let i = 0; i < n; i++) encoding.writeUint8(e, s.charCodeAt(i))
      return
    }
  }
  encoding.writeVarString(e, s)
}

/**
 * Signaling payloads, sealed with the room password: PBKDF2 (SHA-256,
 * 100,000 iterations, salted with the room name) derives an AES-GCM key;
 * each payload gets a fresh 96-bit IV, and the room, sender and target are
 * bound as additional data, so a hub that relays the bytes can neither read
 * nor redirect them. Without a password payloads are plain (format byte 0).
 *
 * ```
 * u8 0  json                 no password
 * u8 1  iv(12)  ciphertext   AES-GCM(key, iv, json, aad = room \n from \n to)
 * ```
 *
 * @module
 */

const PLAIN = 0
const SEALED = 1
const IV_BYTES = 12
const ITERATIONS = 100_000

const utf8 = /* @__PURE__ */ new TextEncoder()

const subtle = (): SubtleCrypto => {
  const s = (globalThis as { crypto?: Crypto }).crypto?.subtle
  if (s === undefined) throw new Error('a room password needs WebCrypto (crypto.subtle): use a secure context (https or localhost)')
  return s
}

/** Derives the room key from `password` and `room`. */
export const deriveRoomKey = async (password: string, room: string): Promise<CryptoKey> => {
  const material = await subtle().importKey('raw', utf8.encode(password), 'PBKDF2', false, ['deriveKey'])
  return await subtle().deriveKey(
    { name: 'PBKDF2', salt: utf8.encode(`aegis-replication/webrtc:${room}`), iterations: ITERATIONS, hash: 'SHA-256' },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt']
  )
}

type Bytes = Uint8Array<ArrayBuffer>

const aad = (room: string, from: string, to: string): Bytes => utf8.encode(`${room}\n${from}\n${to}`)

/** Seals (or frames, without a key) a payload from `from` to `to`. */
export const sealSignal = async (key: CryptoKey | undefined, room: string, from: string, to: string, plain: Bytes): Promise<Uint8Array> => {
  if (key === undefined) {
    const out = new Uint8Array(plain.length + 1)
    out[0] = PLAIN
    out.set(plain, 1)
    return out
  }
  const iv = (globalThis as { crypto: Crypto }).crypto.getRandomValues(new Uint8Array(IV_BYTES))
  const sealed = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv, additionalData: aad(room, from, to) }, key, plain))
  const out = new Uint8Array(1 + IV_BYTES + sealed.length)
  out[0] = SEALED
  out.set(iv, 1)
  out.set(sealed, 1 + IV_BYTES)
  return out
}

/** Why a payload could not be opened. */
export type OpenFailure = 'wrong-password' | 'expected-password' | 'unexpected-password' | 'malformed'

/** Opens a payload; a string says why it could not be opened. */
export const openSignal = async (key: CryptoKey | undefined, room: string, from: string, to: string, payload: Uint8Array): Promise<Uint8Array | OpenFailure> => {
  if (payload.length === 0) return 'malformed'
  if (payload[0] === PLAIN) return key === undefined ? payload.subarray(1) : 'expected-password'
  if (payload[0] !== SEALED || payload.length < 1 + IV_BYTES + 16) return 'malformed'
  if (key === undefined) return 'unexpected-password'
  try {
    const iv = payload.slice(1, 1 + IV_BYTES)
    return new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv, additionalData: aad(room, from, to) }, key, payload.slice(1 + IV_BYTES)))
  } catch {
    return 'wrong-password'
  }
}

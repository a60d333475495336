// The few web-standard globals the core may use: present in browsers,
// workers, Node >= 20 and edge runtimes alike. Nothing else (no DOM, no Node).
declare class TextDecoder {
  constructor (label?: string, options?: { fatal?: boolean })
  decode (input?: Uint8Array): string
}
declare class TextEncoder {
  encode (input?: string): Uint8Array
}

import { describe, expect, it } from 'vitest'
import { AbortError, TimeoutError } from 'aegis-replication'
import { decodeMessage, encodeMessage, KvRequestError, KvStatus, MessageType, SyncClient, type KvRequestMessage } from 'aegis-replication/sync'

const setup = () => {
  let now = 0
  const sent: KvRequestMessage[] = []
  const client = new SyncClient({ send: (f) => { const m = decodeMessage(f); if (m.type === MessageType.KvRequest) sent.push(m) }, now: () => now, kvSession: 'sess', kvTimeoutMs: 1000 })
  const answer = (id: number, status: KvStatus, result = new Uint8Array([5]), reason = ''): void =>
    client.receive(encodeMessage({ type: MessageType.KvResponse, room: '', id, status, result, reason }))
  return { client, sent, answer, advance: (ms: number) => { now += ms; client.tick() } }
}

describe('SyncClient KV requests', () => {
  it('wait for the connection, then resolve with the result', async () => {
    const { client, sent, answer } = setup()
    const p = client.kv(new Uint8Array([1]), 'tok')
    expect(sent).toHaveLength(0)
    client.connected()
    expect(sent).toMatchObject([{ id: 1, token: 'tok', session: 'sess', seq: 1 }])
    answer(1, KvStatus.Ok)
    expect(await p).toEqual(new Uint8Array([5]))
  })

  it('send a request again with the same session and seq after a reconnect and after a Retry answer', async () => {
    const { client, sent, answer, advance } = setup()
    client.connected()
    const p = client.kv(new Uint8Array([1]))
    client.disconnected()
    client.connected()
    answer(1, KvStatus.Retry)
    advance(150)
    expect(sent.map(m => [m.id, m.seq])).toEqual([[1, 1], [1, 1], [1, 1]])
    answer(1, KvStatus.Ok)
    answer(1, KvStatus.Ok) // a duplicate answer is ignored
    await expect(p).resolves.toEqual(new Uint8Array([5]))
  })

  it('reject refused requests with KvRequestError, late ones with TimeoutError, and pending ones on destroy', async () => {
    const { client, answer, advance } = setup()
    client.connected()
    const refused = client.kv(new Uint8Array([1]))
    answer(1, KvStatus.Failed, new Uint8Array(), 'access to the KV denied')
    await expect(refused).rejects.toThrow(KvRequestError)
    const late = client.kv(new Uint8Array([2]))
    advance(1001)
    await expect(late).rejects.toBeInstanceOf(TimeoutError)
    const pending = client.kv(new Uint8Array([3]))
    client.destroy()
    await expect(pending).rejects.toBeInstanceOf(AbortError)
  })
})

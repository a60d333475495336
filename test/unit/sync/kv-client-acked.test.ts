/**
 * The KV client's acknowledged point and session expiry (no hub: answers
 * are fed to the client by hand).
 */
import { describe, expect, it } from 'vitest'
import { encodeKvCommand } from 'aegis-replication/raft'
import { decodeMessage, encodeMessage, KvOutcomeUnknownError, KvRequestError, KvStatus, MessageType, SyncClient, type KvRequestMessage } from 'aegis-replication/sync'

const put = (v: string): Uint8Array => encodeKvCommand({ type: 'put', key: 'k', value: new TextEncoder().encode(v) })
const get = encodeKvCommand({ type: 'get', key: 'k' })

const setup = () => {
  const sent: KvRequestMessage[] = []
  const client = new SyncClient({ send: (f) => { const m = decodeMessage(f); if (m.type === MessageType.KvRequest) sent.push(m) }, now: () => 0, kvSession: 'sess', kvTimeoutMs: 1000 })
  const answer = (id: number, status: KvStatus, reason = ''): void =>
    client.receive(encodeMessage({ type: MessageType.KvResponse, room: '', id, status, result: new Uint8Array([5]), reason }))
  client.connected()
  const last = (): KvRequestMessage => sent[sent.length - 1]
  return { client, sent, answer, last }
}

describe('KV client: acknowledged point', () => {
  it('sends 0 until a write is applied, then the highest seq below which every request is answered (answers out of order)', async () => {
    const { client, answer, last, sent } = setup()
    const r1 = client.kv(put('1'))
    const r2 = client.kv(put('2'))
    expect(sent.map(m => [m.seq, m.ackedSeq])).toEqual([[1, 0], [2, 0]])
    answer(2, KvStatus.Ok) // request 2 overtook request 1
    void client.kv(get)
    expect([last().seq, last().ackedSeq]).toEqual([3, 0]) // 1 is still open
    answer(1, KvStatus.Ok)
    await Promise.all([r1, r2])
    answer(3, KvStatus.Ok)
    void client.kv(put('4'))
    expect([last().seq, last().ackedSeq]).toEqual([4, 3])
  })

  it('reads alone never move it off 0 (the group knows no session before a write)', () => {
    const { client, answer, last } = setup()
    void client.kv(get)
    answer(1, KvStatus.Ok)
    void client.kv(put('x'))
    expect([last().seq, last().ackedSeq]).toEqual([2, 0])
  })

  it('a resend carries the newest point', () => {
    const { client, answer, sent } = setup()
    void client.kv(put('1'))
    void client.kv(put('2'))
    answer(1, KvStatus.Ok)
    client.disconnected()
    client.connected()
    expect(sent.slice(2).map(m => [m.seq, m.ackedSeq])).toEqual([[2, 1]])
  })
})

describe('KV client: session expiry', () => {
  it('a write refused as expired on its only attempt goes again as request 1 of a fresh session, and later requests follow it', async () => {
    const { client, answer, sent, last } = setup()
    const a = client.kv(put('a'))
    answer(1, KvStatus.Ok)
    await a
    const b = client.kv(put('b'))
    expect([last().session, last().seq, last().ackedSeq]).toEqual(['sess', 2, 1])
    answer(2, KvStatus.SessionExpired, 'session sess is unknown to the group (it expired)')
    expect(sent).toHaveLength(3)
    expect([last().id, last().session, last().seq, last().ackedSeq]).toEqual([2, 'sess.1', 1, 0])
    answer(2, KvStatus.Ok)
    await expect(b).resolves.toEqual(new Uint8Array([5]))
    void client.kv(put('c'))
    expect([last().session, last().seq, last().ackedSeq]).toEqual(['sess.1', 2, 1])
  })

  it('a write sent twice (an attempt went unanswered) fails with KvOutcomeUnknownError and is not sent again; others of the old session keep it', async () => {
    const { client, answer, sent, last } = setup()
    const a = client.kv(put('a'))
    answer(1, KvStatus.Ok)
    await a
    const b = client.kv(put('b')) // seq 2
    const c = client.kv(put('c')) // seq 3
    client.disconnected()
    client.connected() // both sent again: their first attempts may have been applied
    expect(sent.slice(-2).map(m => [m.session, m.seq])).toEqual([['sess', 2], ['sess', 3]])
    answer(2, KvStatus.SessionExpired, 'expired')
    const err = await b.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(KvOutcomeUnknownError)
    expect(err).toBeInstanceOf(KvRequestError)
    expect((err as KvRequestError).status).toBe(KvStatus.SessionExpired)
    expect(sent).toHaveLength(5) // not sent again
    // request 3 stays in the old session: a resend keeps its session and seq
    client.disconnected()
    client.connected()
    expect([last().session, last().seq]).toEqual(['sess', 3])
    answer(3, KvStatus.Ok) // it had been applied before the session expired
    await expect(c).resolves.toEqual(new Uint8Array([5]))
    void client.kv(put('d'))
    expect([last().session, last().seq, last().ackedSeq]).toEqual(['sess.1', 1, 0])
  })
})

/**
 * The hub answers a KV request that failed in the Raft group by the
 * error's name: too large and expired sessions fail only that request with
 * their own statuses; everything else is a Retry with the same session/seq.
 */
import { describe, expect, it } from 'vitest'
import { NotLeaderError, silentLogger } from 'aegis-replication'
import { EntryTooLargeError, ProposalDroppedError, RaftStoppedError, SessionExpiredError } from 'aegis-replication/raft'
import { KvStatus, MessageType, kvAnswerForError, type KvResponseMessage } from 'aegis-replication/sync'
import { handleKvRequest } from '../../../src/sync/kv-endpoint.js'

describe('KV statuses for Raft errors', () => {
  it('maps EntryTooLargeError to TooLarge, SessionExpiredError to SessionExpired, the rest to Retry', () => {
    expect(kvAnswerForError(new EntryTooLargeError(2 << 20, 1 << 20))).toMatchObject({ status: KvStatus.TooLarge, reason: expect.stringMatching(/limit/) })
    expect(kvAnswerForError(new SessionExpiredError())).toMatchObject({ status: KvStatus.SessionExpired })
    for (const e of [new ProposalDroppedError(), new RaftStoppedError(), new NotLeaderError(undefined), new Error('x'), 'text']) {
      expect(kvAnswerForError(e).status).toBe(KvStatus.Retry)
    }
    // by name, so a copy of the class from another bundle maps the same
    const copy = Object.assign(new Error('big'), { name: 'EntryTooLargeError' })
    expect(kvAnswerForError(copy).status).toBe(KvStatus.TooLarge)
  })

  it('handleKvRequest answers a throwing handler by the error, and passes ackedSeq through', async () => {
    const sent: KvResponseMessage[] = []
    const seen: unknown[] = []
    await handleKvRequest({
      handler: async (req) => { seen.push(req); throw new EntryTooLargeError(5, 4) },
      decide: async () => 'write',
      send: (m) => sent.push(m),
      logger: silentLogger
    }, { type: MessageType.KvRequest, room: '', id: 7, token: 't', session: 's', seq: 3, command: new Uint8Array([1]), ackedSeq: 2 } as never)
    expect(sent).toMatchObject([{ id: 7, status: KvStatus.TooLarge }])
    expect(seen).toMatchObject([{ session: 's', seq: 3, ackedSeq: 2 }])
  })
})

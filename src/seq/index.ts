/**
 * The sequence CRDT core for text and lists (FugueMax, run-length encoded).
 *
 * @module
 */
export { createSequence } from './sequence.js'
export type { HeldSpan, CreateSequence, IdRanges, SeqDelta, SeqId, SeqKind, SeqPosition, SeqRun, SequenceCore, SequenceOptions } from './sequence-api.js'
export { readIdRanges, readSeqRuns, writeIdRanges, writeSeqRuns } from './run-codec.js'
export { decodeRelativePosition, encodeRelativePosition, RELATIVE_POSITION_VERSION } from './position-codec.js'

/**
 * Cross-board transactions — a placeholder, deliberately without UI.
 *
 * What goes here once `aegis-replication/transaction` exists: actions that
 * must change two boards all-or-nothing, which CRDT merges cannot
 * promise, for example
 * - move a task to another board (remove here, add there, never both or
 *   neither), or
 * - hand a reserved board name over to another board,
 * each run as `TransactionCoordinator.begin()` →
 * `tx.executeOnShard(shard, op)` per board → `commit(tx)`, with the
 * decision recorded in a Raft group so a crashed coordinator leaves no
 * board locked. The board UI would offer "Move to board…" on a task and
 * show the transaction's outcome (committed, or aborted and why).
 *
 * Until then the app exposes nothing: `crossBoardTransactions` says so, and
 * the UI does not render the action.
 *
 * @module
 */

/** Whether the app can run cross-board transactions (not yet). */
export const crossBoardTransactions = false

/**
 * Where a board lives: its room on the hub and its IndexedDB database
 * (shared by the page and the worker, so neither pulls the other's code).
 *
 * @module
 */

/** The hub room of a board. */
export const roomName = (board: string): string => `board:${board}`

/** The IndexedDB database of a board. */
export const databaseName = (board: string): string => `aegis-demo:${board}`

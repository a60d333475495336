/**
 * `aegis-replication/broadcast-channel`: sync a `Doc` between the tabs
 * and workers of one origin, with no server, over the `BroadcastChannel`
 * `aegis:<room>`. The handshake is the network providers' (state vectors,
 * then only what is missing), so a tab opened later catches up; presence
 * travels as awareness updates and leaves with the tab.
 *
 * ```ts
 * import { Doc } from 'aegis-replication'
 * import { BroadcastChannelProvider } from 'aegis-replication/broadcast-channel'
 *
 * const doc = new Doc()
 * const tabs = new BroadcastChannelProvider('board-1', doc)
 * tabs.awareness.setLocalStateField('user', { name: 'Ada' })
 * await tabs.whenSynced // caught up with the other tabs, or alone after 100 ms
 * doc.map('tasks').set('t1', { title: 'Seen in every tab' })
 * ```
 *
 * @module
 */
export { BroadcastChannelProvider } from './provider.js'
export type { BroadcastChannelProviderEvents } from './provider.js'
export { DEFAULT_ALONE_AFTER_MS, channelName } from './options.js'
export type { BroadcastChannelProviderOptions, BroadcastChannelLike, BroadcastChannelConstructor } from './options.js'

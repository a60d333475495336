/**
 * The attacks, each a function of its sizes so the fast suite (`npm test`)
 * and the long one (`npm run test:long`) run the same code. Each one opens
 * its clients from its own loopback address, checks what the hub must do
 * to the offender (the documented close code), and closes its clients;
 * the caller runs {@link checkpoint} after it (hub alive, /healthz 200, RSS
 * under the bound, the bystander acknowledged).
 */
export * from './common.js'
export * from './frames.js'
export * from './presence.js'
export * from './slow-reader.js'
export * from './floods.js'
export * from './sockets.js'

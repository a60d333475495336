import { Doc } from 'aegis-replication'
import { WebRTCProvider } from 'aegis-replication/webrtc'

// In a page the hub serves: the hub on the page's own origin relays the signaling.
const hub = location.origin.replace(/^http/, 'ws')
export const doc = new Doc()
export const provider = new WebRTCProvider('board-42', doc, {
  signaling: [hub],
  password: 'correct horse battery staple', // the hub relays sealed offers it cannot read
  iceServers: [] // enough on one machine or LAN; add STUN/TURN servers for the internet
})
provider.awareness.setLocalStateField('user', { name: 'Ada' })
provider.on('peers', ({ connected }) => console.log('direct peers:', connected))
doc.map('notes').set(provider.peerId, 'written before any peer connected')

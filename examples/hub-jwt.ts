import { createHub, createJwtAuth } from 'aegis-replication/hub'
import { SignJWT } from 'jose'

// The hook `aegis-hub --auth-jwt-secret-file` uses: HS256 here, or jwksUrl for RS256 / ES256.
const secret = process.env.JWT_SECRET ?? 'a shared secret of at least 32 bytes, from a file'
const auth = createJwtAuth({ secret, issuer: 'https://auth.example' }) // also: audience, jwksUrl, clockToleranceSec (5)

// What your login server hands a user: the rooms it may use, and an expiry.
const token = await new SignJWT({ rooms: { 'board:*': 'read', 'board:42': 'write', '@kv': 'read' } })
  .setProtectedHeader({ alg: 'HS256' }).setIssuer('https://auth.example').setSubject('ada').setExpirationTime('15m')
  .sign(new TextEncoder().encode(secret))

export const access = [await auth(token, 'board:42'), await auth(token, 'board:7'), await auth(token, 'chat:1')]
// ['write', 'read', 'deny']: the most specific grant decides; a token past its exp gives 'expired' (4401)

const hub = await createHub({ port: 0, host: '127.0.0.1', dataDir: './.aegis-data/example-jwt', auth })
await hub.close()

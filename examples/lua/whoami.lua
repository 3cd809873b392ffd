-- Route example: who does the `sipi` cookie (or a Bearer token) say I am?
local token = server.cookies and server.cookies['sipi']
local ok, auth = server.requireAuth()
if auth.status == 'BEARER' then token = auth.token end
server.sendHeader('Content-Type', 'application/json')
if not token then server.sendStatus(401); server.print('{"error":"no token"}'); return end
local valid, claims = server.decode_jwt(token)
if not valid then server.sendStatus(401); server.print(server.table_to_json({ error = claims }) and select(2, server.table_to_json({ error = claims }))); return end
local _, body = server.table_to_json({ user = claims.sub })
server.print(body)

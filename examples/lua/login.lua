--
-- Route example: HTTP Basic login that sets a `sipi` cookie holding a signed JWT (HS256 with
-- sipi.jwt_secret, valid one hour). A real deployment checks the password against its users.
--
local ok, auth = server.requireAuth()
if not ok or auth.status ~= 'BASIC' then
    server.sendStatus(401)
    server.sendHeader('WWW-Authenticate', 'Basic realm="sipi"')
    server.print('login required')
    return
end
local ok2, token = server.generate_jwt({ sub = auth.username, iss = 'sipi', exp = server.systime() + 3600 })
if not ok2 then
    server.sendStatus(500)
    server.print(token)
    return
end
server.sendCookie('sipi', token, { path = '/', http_only = true, expires = 3600 })
server.sendHeader('Content-Type', 'application/json')
local _, body = server.table_to_json({ user = auth.username, token = token })
server.print(body)

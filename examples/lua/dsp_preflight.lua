--
-- A pre_flight hook in the style of DaSCH's DSP: ask the DSP API who may see the file.
--
--   GET http://$DSP_API/admin/files/{project}/{file}   (Authorization: Bearer <token>)
--   → {"permissionCode": 0|1|2.., "restrictedViewSettings": {"size": "!128,128", "watermark": "…"}}
--   0 = deny, 1 = restricted view, 2 and more = full view.
--
-- The token comes from the request's Authorization header or from a `sipi` cookie (set by the
-- login route example). Images live in imgroot/{project}/{file}.
--
function pre_flight(prefix, identifier, cookie)
    local api = os.getenv('DSP_API') or 'localhost:3333'
    local token
    local auth = server.header['authorization']
    if auth and auth:sub(1, 7) == 'Bearer ' then token = auth:sub(8) end
    if not token and server.cookies then token = server.cookies['sipi'] end

    local headers = {}
    if token then headers['Authorization'] = 'Bearer ' .. token end
    local url = 'http://' .. api .. '/admin/files/' .. prefix .. '/' .. identifier
    local ok, res = server.http('GET', url, headers, 2000)
    if not ok then
        server.log('permission service unreachable: ' .. tostring(res), server.loglevel.LOG_ERR)
        return 'deny'
    end
    if res.status_code ~= 200 then return 'deny' end
    local ok2, info = server.json_to_table(res.body)
    if not ok2 or type(info.permissionCode) ~= 'number' then return 'deny' end

    local path = config.imgroot .. '/' .. prefix .. '/' .. identifier
    if info.permissionCode == 0 then return 'deny' end
    if info.permissionCode == 1 then
        local settings = info.restrictedViewSettings or {}
        local restriction = { type = 'restrict' }
        if settings.watermark then restriction.watermark = settings.watermark
        else restriction.size = settings.size or config.thumb_size end
        return restriction, path
    end
    return 'allow', path
end

--
-- Route example: POST an image (multipart/form-data, any field name) and get it back as a JPEG
-- 2000 service file in the image root, ready to be served through IIIF.
--   curl -F file=@scan.tif http://localhost:1024/api/upload
--   → {"identifier":"<uuid62>.jp2","width":…,"height":…,"origname":"scan.tif"}
--
server.sendHeader('Content-Type', 'application/json')
local function reply(status, t)
    server.sendStatus(status)
    local _, body = server.table_to_json(t)
    server.print(body)
end

if not server.uploads or #server.uploads ~= 1 then
    return reply(400, { error = 'send exactly one file' })
end
local upload = server.uploads[1]
local ok, img = SipiImage.new(1)
if not ok then return reply(415, { error = 'not an image: ' .. tostring(img) }) end
local _, dims = img:dims()
local _, id = server.uuid62()
local identifier = id .. '.jp2'
-- A service file: lossless JPEG 2000 carrying the Essentials packet (original name and type, a
-- digest of the pixels), so the archive can always tell what the master was.
local ok2, err = img:write(config.imgroot .. '/' .. identifier,
                           { file_role = 'service-file', origname = upload.origname, mimetype = upload.mimetype })
if not ok2 then return reply(500, { error = err }) end
reply(201, { identifier = identifier, width = dims.nx, height = dims.ny, origname = upload.origname })

local base = os.getenv("HOME") or "/tmp"
local t = { 1, 2, 3 }
sipi = setmetatable({ imgroot = "/tmp", cache_size = tostring(100) .. "M", port = 1000 + #t, max_area = 2^24 }, {})
sipi.tile_size = math.floor(512.0)
sipi.hostname = string.lower("EXAMPLE.org") .. (base ~= nil and "" or "x")
sipi.jpeg_quality = select("#", 1, 2, 3) * 20
fileserver = nil

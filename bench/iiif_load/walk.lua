-- wrk script for bench/iiif_load.sh: walks a list of request paths in order.
--   wrk -t2 -c8 -d10s -s walk.lua http://127.0.0.1:PORT -- LIST PREFIX
-- LIST holds one path per line ("id/region/size/0/default.jpg" or "id/info.json"); each is sent
-- as PREFIX..line. Each wrk thread starts at its own offset so threads do not repeat each
-- other. done() prints one line that bench/iiif_load.sh parses.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("thread_no", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local paths = {}
local pos = 0

function init(args)
  local list, prefix = args[1], args[2] or "/"
  for line in io.lines(list) do
    if line ~= "" then paths[#paths + 1] = prefix .. line end
  end
  if #paths == 0 then error("walk.lua: empty list " .. tostring(list)) end
  -- thread_no is set by setup(); spread the threads' starting points over the list
  local n = tonumber(thread_no) or 0
  pos = math.floor(n * #paths / 2) % #paths
end

function request()
  pos = pos % #paths + 1
  return wrk.format("GET", paths[pos])
end

function done(summary, latency, requests)
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  local secs = summary.duration / 1e6
  io.write(string.format(
    "IIIFLOAD requests=%d non2xx=%d socket_errors=%d timeouts=%d rps=%.2f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, e.status, socket, e.timeout, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end

-- wrk script for bench/soak.sh: a mix of request paths read from a file, walked in order from
-- a per-thread offset; counts responses by status so the script can tell deliberate 503s from
-- real failures.   wrk ... -s mixed.lua URL -- LIST
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local paths, pos = {}, 0
counts = {}
function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then paths[#paths + 1] = line end
  end
  pos = (tonumber(id) or 0) * 7919 % #paths
end

function request()
  pos = pos % #paths + 1
  return wrk.format("GET", paths[pos])
end

function response(status)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency)
  local total = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for k, v in pairs(c) do total[k] = (total[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(total) do parts[#parts + 1] = k .. ":" .. v end
  table.sort(parts)
  io.write(string.format("SOAK requests=%d socket_errors=%d p50_ms=%.2f p99_ms=%.2f statuses=%s\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, table.concat(parts, ",")))
end

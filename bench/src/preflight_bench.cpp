// Cost of one pre_flight call as the server pays it per request: a fresh sandboxed state, the
// init script's bytecode loaded and run, the hook called, the result read. Prints the median
// and the 99th percentile of N calls, for a trivial hook and for a DSP-like one (string
// handling, a table of rules, a JSON round trip).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "lua/runtime.h"

namespace {

const char* kTrivial = "function pre_flight(prefix, identifier, cookie) return 'allow', '/tmp/' .. identifier end\n";

const char* kDspLike = R"(
local rules = {}
for i = 1, 50 do rules['project' .. i] = { permission = i % 3, size = '!' .. (100 + i) .. ',' .. (100 + i) } end
local function split(s, sep)
  local out = {}
  for part in string.gmatch(s, '([^' .. sep .. ']+)') do out[#out + 1] = part end
  return out
end
function pre_flight(prefix, identifier, cookie)
  local parts = split(prefix, '/')
  local project = parts[#parts] or 'project1'
  local token
  for k, v in string.gmatch(cookie or '', '(%w+)=(%w+)') do if k == 'sipi' then token = v end end
  local ok, body = server.table_to_json({ project = project, file = identifier, token = token or '' })
  local ok2, answer = server.json_to_table(body)
  local rule = rules[project] or { permission = 2 }
  local path = config.imgroot .. '/' .. project .. '/' .. identifier
  if rule.permission == 0 then return 'deny' end
  if rule.permission == 1 then return { type = 'restrict', size = rule.size }, path end
  return 'allow', path
end
)";

void run(const char* label, const char* script, int n) {
  auto dir = std::filesystem::temp_directory_path() / "sipi-preflight-bench";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "init.lua") << script;
  sipi::Config cfg;
  cfg.initscript = (dir / "init.lua").string();
  cfg.imgroot = "/tmp";
  auto rt = sipi::lua::Runtime::create(cfg, {});
  if (!rt) {
    std::fprintf(stderr, "%s\n", rt.error().message.c_str());
    return;
  }
  sipi::lua::RequestInfo req{"GET", "localhost:1024", "/iiif/project7/img.jp2/full/max/0/default.jpg", "127.0.0.1", 0,
                             {{"host", "localhost:1024"}, {"cookie", "sipi=abc123"}}};
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = (*rt)->pre_flight("iiif/project7", "img.jp2", "sipi=abc123", req);
    auto t1 = std::chrono::steady_clock::now();
    if (!r) {
      std::fprintf(stderr, "%s\n", r.error().message.c_str());
      return;
    }
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(us.begin(), us.end());
  std::printf("%-26s median %7.1f us   p99 %7.1f us   (%d calls)\n", label, us[us.size() / 2],
              us[us.size() * 99 / 100], n);
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::max(100, std::atoi(argv[1])) : 20000;
  run("pre_flight, trivial", kTrivial, n);
  run("pre_flight, DSP-like", kDspLike, n);
}

// The per-request Lua runtime: every call gets a fresh sandboxed state, so no request can see
// or damage another's. The init script is compiled once to bytecode and recompiled when its
// modification time or size changes, so edits apply without a restart. Each call has a memory
// cap and a wall-clock deadline; a script past either is stopped (a Lua `pcall` cannot catch it)
// and the call fails with 500 lua.killed.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/result.h"

namespace sipi::lua {

// What a hook sees of the request (the `server` table).
struct RequestInfo {
  std::string method, host, uri, client_ip;
  int client_port = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::vector<std::pair<std::string, std::string>> get;      // query parameters
  std::vector<std::pair<std::string, std::string>> post;     // form fields (urlencoded body)
  std::string content, content_type;                         // a body that is not a form
  std::string docroot;                                       // set for docroot .lua pages
  struct Upload {
    std::string fieldname, origname, tmpname, mimetype;
    std::uint64_t filesize = 0;
  };
  std::vector<Upload> uploads;                               // multipart file parts (temp files)
};

// What a route or page script produced with server.print / sendHeader / sendStatus.
struct ScriptResponse {
  int status = 200;
  bool status_set = false;  // server.sendStatus was called
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// What a hook returned, before any interpretation: permission as a string or a table of
// strings, and an optional file path.
struct HookReturn {
  bool is_table = false;
  std::string permission;                         // the string, or table["type"]
  std::map<std::string, std::string> fields;      // the table's string fields
  std::vector<std::string> bad_fields;            // keys whose values were not strings
  std::optional<std::string> path;
  // The hook answered the request itself (it called server.sendStatus): SIPI sends that
  // response, whatever the hook returned or raised.
  std::optional<ScriptResponse> own_response;
};

struct Limits {
  std::size_t memory_bytes = 64 * 1024 * 1024;
  std::chrono::milliseconds deadline{5000};
};

class Runtime {
 public:
  // Compiles the init script; errors name the file and line (startup fails with them).
  static Result<std::shared_ptr<Runtime>> create(const Config& cfg, Limits limits);

  bool has_pre_flight() const { return has_pre_flight_; }
  bool has_file_pre_flight() const { return has_file_pre_flight_; }

  // pre_flight(prefix, identifier, cookie). Errors: 500 lua.error (a Lua error), lua.killed
  // (memory or time), lua.hook_return (not a permission and path).
  Result<HookReturn> pre_flight(const std::string& prefix, const std::string& identifier, const std::string& cookie,
                                const RequestInfo& req);

  // file_pre_flight(filepath, cookie) for /file downloads; same return shape as pre_flight.
  Result<HookReturn> file_pre_flight(const std::string& filepath, const std::string& cookie, const RequestInfo& req);

  // Runs a route or docroot script (after the init script, in the same fresh state).
  // Errors: 404 route.not_found (no such file), 500 lua.error / lua.killed.
  Result<ScriptResponse> run_script(const std::filesystem::path& script, const RequestInfo& req);

  // An .elua page: HTML sent as it is, with <lua>…</lua> chunks run in order in one state.
  // Errors: as run_script, and 500 lua.error for an unterminated <lua> chunk.
  Result<ScriptResponse> run_elua(const std::filesystem::path& page, const RequestInfo& req);

 private:
  struct Chunk {
    std::string bytecode;
    std::filesystem::file_time_type mtime;
    std::uintmax_t size = 0;
  };
  Runtime(const Config& cfg, Limits limits) : cfg_(cfg), limits_(limits) {}
  Result<std::shared_ptr<const Chunk>> init_chunk();  // compiled, recompiled on change
  Result<HookReturn> call_hook(const char* name, const std::vector<std::string>& args, const RequestInfo& req);
  Result<ScriptResponse> run_source(const std::string& source, const std::string& chunkname, const RequestInfo& req);

  Config cfg_;
  Limits limits_;
  std::filesystem::path init_path_;
  std::mutex mutex_;
  std::shared_ptr<const Chunk> chunk_;
  bool has_pre_flight_ = false;
  bool has_file_pre_flight_ = false;
};

}  // namespace sipi::lua

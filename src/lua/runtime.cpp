#include "lua/runtime.h"

#include <strings.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <random>

#include <nlohmann/json.hpp>

#include "core/form.h"
#include "core/metrics.h"
#include "core/log.h"
#include "lua/server_api.h"
#include "lua/state.h"

namespace sipi::lua {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

// Per-call accounting, reached from the allocator and the hook through the state's extra space.
struct CallState {
  std::size_t used = 0, limit = 0;
  bool over_memory = false;
  Clock::time_point deadline;
  const char* killed = nullptr;  // "memory" or "time"
};

CallState*& call_state(lua_State* L) { return *static_cast<CallState**>(lua_getextraspace(L)); }

void* capped_alloc(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
  auto* cs = static_cast<CallState*>(ud);
  std::size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    cs->used -= old;
    std::free(ptr);
    return nullptr;
  }
  if (cs->used - old + nsize > cs->limit) {
    cs->over_memory = true;
    return nullptr;  // Lua raises a memory error; the hook then stops the script for good
  }
  void* p = std::realloc(ptr, nsize);
  if (p) cs->used = cs->used - old + nsize;
  return p;
}

// Every 1000 instructions: past the deadline or the memory cap, yield the whole coroutine.
// A yield unwinds through pcall (which is yieldable in Lua 5.4), so scripts cannot catch it.
void watchdog(lua_State* L, lua_Debug*) {
  CallState* cs = call_state(L);
  if (cs->over_memory) cs->killed = "memory";
  else if (Clock::now() > cs->deadline) cs->killed = "time";
  if (cs->killed) {
    if (lua_isyieldable(L)) {
      lua_yield(L, 0);
    } else {
      luaL_error(L, "script stopped (%s)", cs->killed);
    }
  }
}

// Runs the function below `nargs` arguments on top of L in a fresh coroutine under the
// watchdog. On success the results (up to nres) are left on L's stack.
Result<Ok> guarded_call(lua_State* L, int nargs, int nres) {
  lua_State* co = lua_newthread(L);
  lua_insert(L, -(nargs + 2));  // thread below the function and its arguments
  lua_xmove(L, co, nargs + 1);
  lua_sethook(co, watchdog, LUA_MASKCOUNT, 1000);
  int nresults = 0;
  int status = lua_resume(co, L, nargs, &nresults);
  CallState* cs = call_state(L);
  if (cs->killed) {
    lua_pop(L, 1);
    metrics().lua_kill(std::string(cs->killed) == "time" ? "timeout" : "memory");
    return Error{Status::internal_error, "lua.killed", std::string("script stopped: ") + cs->killed};
  }
  if (status == LUA_YIELD) {
    lua_pop(L, 1);
    return Error{Status::internal_error, "lua.error", "script yielded"};
  }
  if (status != LUA_OK) {
    luaL_traceback(L, co, lua_tostring(co, -1), 0);
    std::string msg = lua_tostring(L, -1) ? lua_tostring(L, -1) : "error";
    lua_pop(L, 2);
    if (cs->over_memory) metrics().lua_kill("memory");
    return Error{Status::internal_error, cs->over_memory ? "lua.killed" : "lua.error", msg};
  }
  nresults = std::min(nresults, nres);
  lua_xmove(co, L, nresults);
  for (int i = nresults; i < nres; ++i) lua_pushnil(L);
  lua_remove(L, -(nres + 1));  // the thread
  return Ok{};
}

// ---- the `server` table: request variables and a first set of functions ----

int l_systime(lua_State* L) {
  lua_pushinteger(L, static_cast<lua_Integer>(std::time(nullptr)));
  return 1;
}

int l_log(lua_State* L) {
  const char* msg = luaL_checkstring(L, 1);
  // SIPI's constants ascend with severity (LOG_DEBUG 0, LOG_INFO 1, LOG_NOTICE 2, LOG_WARNING 3,
  // LOG_ERR 4 … LOG_EMERG 7); without a level SIPI logs an error.
  lua_Integer level = luaL_optinteger(L, 2, 4);
  log::Level l = level <= 0 ? log::Level::debug : level <= 2 ? log::Level::info : level == 3 ? log::Level::warning
                                                                                             : log::Level::error;
  if (*msg) log::write(l, msg, {{"source", "lua"}});
  lua_pushboolean(L, 1);
  lua_pushnil(L);
  return 2;
}

int l_uuid(lua_State* L) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  unsigned char b[16];
  for (int i = 0; i < 16; i += 8) {
    std::uint64_t v = rng();
    std::memcpy(b + i, &v, 8);
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char s[37];
  std::snprintf(s, sizeof s, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  lua_pushboolean(L, 1);
  lua_pushstring(L, s);
  return 2;
}

void set_string(lua_State* L, const char* key, const std::string& v) {
  lua_pushlstring(L, v.data(), v.size());
  lua_setfield(L, -2, key);
}

// server.cookies: one entry per cookie, names as sent.
void push_cookies(lua_State* L, const std::string& cookie_header) {
  lua_newtable(L);
  std::size_t pos = 0;
  while (pos < cookie_header.size()) {
    auto end = cookie_header.find(';', pos);
    std::string pair = cookie_header.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    auto eq = pair.find('=');
    if (eq != std::string::npos) {
      std::string name = pair.substr(0, eq), value = pair.substr(eq + 1);
      while (!name.empty() && name.front() == ' ') name.erase(0, 1);
      set_string(L, name.c_str(), value);
    }
    if (end == std::string::npos) break;
    pos = end + 1;
  }
}

// server.uploads: SIPI's array of {fieldname, origname, tmpname, mimetype, filesize}.
void push_uploads(lua_State* L, const std::vector<RequestInfo::Upload>& uploads) {
  lua_createtable(L, static_cast<int>(uploads.size()), 0);
  lua_Integer i = 1;
  for (const auto& u : uploads) {
    lua_newtable(L);
    set_string(L, "fieldname", u.fieldname);
    set_string(L, "origname", u.origname);
    set_string(L, "tmpname", u.tmpname);
    set_string(L, "mimetype", u.mimetype);
    lua_pushinteger(L, static_cast<lua_Integer>(u.filesize));
    lua_setfield(L, -2, "filesize");
    lua_rawseti(L, -2, i++);
  }
  lua_setfield(L, -2, "uploads");
}

void push_server(lua_State* L, const RequestInfo& r) {
  lua_newtable(L);
  set_string(L, "method", r.method);
  set_string(L, "host", r.host);
  set_string(L, "uri", r.uri);
  set_string(L, "client_ip", r.client_ip);
  lua_pushinteger(L, r.client_port), lua_setfield(L, -2, "client_port");
  lua_pushboolean(L, 0), lua_setfield(L, -2, "secure");
  lua_pushboolean(L, 1), lua_setfield(L, -2, "has_openssl");
  lua_newtable(L);
  std::string cookie_header;
  for (const auto& [k, v] : r.headers) {
    set_string(L, k.c_str(), v);
    if (k == "cookie") cookie_header = v;
  }
  lua_setfield(L, -2, "header");
  push_cookies(L, cookie_header);
  lua_setfield(L, -2, "cookies");
  auto set_pairs = [&](const char* name, const std::vector<std::pair<std::string, std::string>>& pairs) {
    if (pairs.empty()) return;  // SIPI leaves absent what is empty
    lua_newtable(L);
    for (const auto& [k, v] : pairs) set_string(L, k.c_str(), v);
    lua_setfield(L, -2, name);
  };
  set_pairs("get", r.get);
  set_pairs("post", r.post);
  std::vector<std::pair<std::string, std::string>> merged = r.get;
  merged.insert(merged.end(), r.post.begin(), r.post.end());
  set_pairs("request", merged);
  if (!r.uploads.empty()) push_uploads(L, r.uploads);
  if (!r.content.empty()) set_string(L, "content", r.content);
  if (!r.content_type.empty()) set_string(L, "content_type", r.content_type);
  if (!r.docroot.empty()) set_string(L, "docroot", r.docroot);
  const luaL_Reg fns[] = {{"systime", l_systime},   {"log", l_log}, {"uuid", l_uuid}, {nullptr, nullptr}};
  luaL_setfuncs(L, fns, 0);
  register_json_functions(L);
  register_response_functions(L);
  register_net_functions(L);
  register_fs_functions(L);
  register_magic_functions(L);
  lua_newtable(L);  // server.loglevel
  const char* levels[] = {"LOG_DEBUG", "LOG_INFO", "LOG_NOTICE", "LOG_WARNING", "LOG_ERR", "LOG_CRIT", "LOG_ALERT", "LOG_EMERG"};
  for (int i = 0; i < 8; ++i) {
    lua_pushinteger(L, i);
    lua_setfield(L, -2, levels[i]);
  }
  lua_setfield(L, -2, "loglevel");
  lua_setglobal(L, "server");
  register_helper(L);
  register_sipi_image(L);
  register_sqlite(L);
}

void push_config(lua_State* L, const Config& c) {
  lua_newtable(L);
  set_string(L, "hostname", c.hostname);
  lua_pushinteger(L, c.port);
  lua_setfield(L, -2, "port");
  set_string(L, "imgroot", c.imgroot);
  lua_pushboolean(L, c.prefix_as_path);
  lua_setfield(L, -2, "prefix_as_path");
  set_string(L, "init_script", c.initscript);
  set_string(L, "cache_dir", c.cache_dir);
  // Sizes as byte integers, as SIPI gives them to scripts (cache_size: -1 = no limit).
  auto push_bytes = [L](const char* key, const std::string& text) {
    std::uint64_t v = 0;
    if (text == "-1") lua_pushinteger(L, -1);
    else if (parse_byte_size(text, v)) lua_pushinteger(L, static_cast<lua_Integer>(v));
    else lua_pushinteger(L, 0);
    lua_setfield(L, -2, key);
  };
  push_bytes("cache_size", c.cache_size);
  lua_pushinteger(L, c.cache_nfiles);
  lua_setfield(L, -2, "cache_n_files");
  lua_pushinteger(L, c.jpeg_quality);
  lua_setfield(L, -2, "jpeg_quality");
  set_string(L, "thumb_size", c.thumb_size);
  push_bytes("max_post_size", c.max_post_size);
  lua_pushinteger(L, -1);  // no TLS listener here (SIPI's default when none is configured)
  lua_setfield(L, -2, "sslport");
  set_string(L, "tmpdir", c.tmpdir);
  lua_pushinteger(L, c.max_temp_file_age);
  lua_setfield(L, -2, "max_temp_file_age");
  set_string(L, "scriptdir", c.scriptdir);
  set_string(L, "knora_path", c.knora_path);
  set_string(L, "knora_port", c.knora_port);
  set_string(L, "docroot", c.docroot);
  lua_setglobal(L, "config");
}

// require 'name': only [A-Za-z0-9_]+, only from scriptdir, text only, loaded once per state.
int l_require(lua_State* L) {
  std::string name = luaL_checkstring(L, 1);
  bool ok = !name.empty() && name.size() < 128;
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  if (!ok) return luaL_error(L, "require: invalid module name");
  lua_getfield(L, LUA_REGISTRYINDEX, "sipi.loaded");
  lua_getfield(L, -1, name.c_str());
  if (!lua_isnil(L, -1)) return 1;
  lua_pop(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, "sipi.scriptdir");
  std::string path = std::string(lua_tostring(L, -1)) + "/" + name + ".lua";
  lua_pop(L, 1);
  if (luaL_loadfilex(L, path.c_str(), "t") != LUA_OK) return lua_error(L);
  lua_call(L, 0, 1);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushboolean(L, 1);
  }
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, name.c_str());
  return 1;
}

// The budget of one call (memory, deadline) and a fresh state with the sandbox, require,
// config and server, the init script already run. Every hook, route, page — and the startup
// probe — goes through here, so they all see the same environment.
Result<StatePtr> open_state(CallState& cs, const Limits& limits, const Config& cfg, const std::string& bytecode,
                            const RequestInfo& req, ScriptResponse* response) {
  cs.limit = limits.memory_bytes;
  cs.deadline = Clock::now() + limits.deadline;
  StatePtr Lp = new_sandboxed_state(capped_alloc, &cs);
  if (!Lp) return Error{Status::internal_error, "lua.error", "cannot create a Lua state"};
  lua_State* L = Lp.get();
  call_state(L) = &cs;
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, "sipi.loaded");
  lua_pushstring(L, cfg.scriptdir.c_str());
  lua_setfield(L, LUA_REGISTRYINDEX, "sipi.scriptdir");
  *static_cast<ScriptResponse**>(lua_newuserdatauv(L, sizeof(ScriptResponse*), 0)) = response;
  lua_setfield(L, LUA_REGISTRYINDEX, "sipi.response");
  lua_pushstring(L, cfg.jwt_secret.c_str());
  lua_setfield(L, LUA_REGISTRYINDEX, "sipi.jwt_secret");
  lua_register(L, "require", l_require);
  push_config(L, cfg);
  push_server(L, req);
  if (luaL_loadbufferx(L, bytecode.data(), bytecode.size(), "init", "b") != LUA_OK) {
    return Error{Status::internal_error, "lua.error", lua_tostring(L, -1)};
  }
  auto r = guarded_call(L, 0, 0);
  if (!r) return r.error();
  return Lp;
}

// Bytecode of the function on top of the stack (debug info kept, for error line numbers).
std::string dump_function(lua_State* L) {
  std::string out;
  lua_dump(L, [](lua_State*, const void* p, size_t sz, void* ud) {
    static_cast<std::string*>(ud)->append(static_cast<const char*>(p), sz);
    return 0;
  }, &out, 0);
  return out;
}

}  // namespace

long remaining_ms(lua_State* L) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(call_state(L)->deadline - Clock::now()).count();
  return std::max<long>(1, static_cast<long>(left));
}

// An .elua page as one Lua chunk: each HTML run becomes server.print([==[…]==]) with a bracket
// level that the text does not contain; code runs in between.
std::optional<std::string> elua_to_lua(const std::string& page) {
  std::string out;
  std::size_t pos = 0;
  auto emit_text = [&](std::string_view text) {
    if (text.empty()) return;
    std::string eq;
    while (text.find("]" + eq + "]") != std::string_view::npos) eq += '=';
    // A long bracket drops a newline right after the opening: add one so the text survives.
    out += "server.print([" + eq + "[\n" + std::string(text) + "]" + eq + "]) ";
  };
  while (pos < page.size()) {
    auto open = page.find("<lua>", pos);
    if (open == std::string::npos) {
      emit_text(std::string_view(page).substr(pos));
      break;
    }
    emit_text(std::string_view(page).substr(pos, open - pos));
    auto close = page.find("</lua>", open + 5);
    if (close == std::string::npos) return std::nullopt;
    out += page.substr(open + 5, close - open - 5);
    out += "\n";
    pos = close + 6;
  }
  return out;
}

Result<ScriptResponse> Runtime::run_elua(const fs::path& page, const RequestInfo& req) {
  std::ifstream in(page, std::ios::binary);
  if (!in) return Error::not_found("route.not_found", page.string());
  std::string text((std::istreambuf_iterator<char>(in)), {});
  auto source = elua_to_lua(text);
  if (!source) return Error{Status::internal_error, "lua.error", page.string() + ": unterminated <lua> chunk"};
  return run_source(*source, "@" + page.string(), req);
}

Result<ScriptResponse> Runtime::run_source(const std::string& source, const std::string& chunkname,
                                           const RequestInfo& req) {
  auto chunk = init_chunk();
  if (!chunk) return chunk.error();
  CallState cs;
  ScriptResponse out;
  auto L = open_state(cs, limits_, cfg_, (*chunk)->bytecode, req, &out);
  if (!L) return L.error();
  if (luaL_loadbufferx(L->get(), source.data(), source.size(), chunkname.c_str(), "t") != LUA_OK) {
    return Error{Status::internal_error, "lua.error", lua_tostring(L->get(), -1)};
  }
  auto r = guarded_call(L->get(), 0, 0);
  if (!r) return r.error();
  return out;
}

Result<ScriptResponse> Runtime::run_script(const fs::path& script, const RequestInfo& req) {
  std::error_code ec;
  if (!fs::is_regular_file(script, ec)) return Error::not_found("route.not_found", script.string());
  std::ifstream in(script, std::ios::binary);
  std::string source((std::istreambuf_iterator<char>(in)), {});
  return run_source(source, "@" + script.string(), req);
}

Result<std::shared_ptr<Runtime>> Runtime::create(const Config& cfg, Limits limits) {
  std::shared_ptr<Runtime> rt(new Runtime(cfg, limits));
  if (!cfg.initscript.empty() && cfg.initscript != ".") rt->init_path_ = cfg.initscript;
  auto chunk = rt->init_chunk();
  if (!chunk) return chunk.error();
  // Run it once to learn which hooks exist; an error here refuses startup.
  CallState cs;
  auto L = open_state(cs, limits, cfg, (*chunk)->bytecode, RequestInfo{}, nullptr);
  if (!L) return Error{Status::internal_error, "lua.init", L.error().message};
  lua_getglobal(L->get(), "pre_flight");
  rt->has_pre_flight_ = lua_isfunction(L->get(), -1);
  lua_getglobal(L->get(), "file_pre_flight");
  rt->has_file_pre_flight_ = lua_isfunction(L->get(), -1);
  return rt;
}

Result<std::shared_ptr<const Runtime::Chunk>> Runtime::init_chunk() {
  if (init_path_.empty()) {  // routes without an init script
    std::lock_guard lock(mutex_);
    if (!chunk_) {
      StatePtr L = new_sandboxed_state();
      luaL_loadstring(L.get(), "");
      auto chunk = std::make_shared<Chunk>();
      chunk->bytecode = dump_function(L.get());
      chunk_ = chunk;
    }
    return chunk_;
  }
  std::error_code ec;
  auto mtime = fs::last_write_time(init_path_, ec);
  auto size = fs::file_size(init_path_, ec);
  if (ec) return Error{Status::internal_error, "lua.init", init_path_.string() + ": " + ec.message()};
  std::lock_guard lock(mutex_);
  if (chunk_ && chunk_->mtime == mtime && chunk_->size == size) return chunk_;
  StatePtr L = new_sandboxed_state();
  if (luaL_loadfilex(L.get(), init_path_.c_str(), "t") != LUA_OK) {
    return Error{Status::internal_error, "lua.init", lua_tostring(L.get(), -1)};
  }
  auto chunk = std::make_shared<Chunk>();
  chunk->bytecode = dump_function(L.get());
  chunk->mtime = mtime;
  chunk->size = size;
  chunk_ = chunk;
  return std::shared_ptr<const Chunk>(chunk);
}

Result<HookReturn> Runtime::pre_flight(const std::string& prefix, const std::string& identifier,
                                       const std::string& cookie, const RequestInfo& req) {
  return call_hook("pre_flight", {prefix, identifier, cookie}, req);
}

Result<HookReturn> Runtime::file_pre_flight(const std::string& filepath, const std::string& cookie,
                                            const RequestInfo& req) {
  return call_hook("file_pre_flight", {filepath, cookie}, req);
}

Result<HookReturn> Runtime::call_hook(const char* name, const std::vector<std::string>& args, const RequestInfo& req) {
  auto chunk = init_chunk();
  if (!chunk) return chunk.error();
  CallState cs;
  ScriptResponse own;
  auto Lp = open_state(cs, limits_, cfg_, (*chunk)->bytecode, req, &own);
  if (!Lp) return Lp.error();
  lua_State* L = Lp->get();
  lua_getglobal(L, name);
  if (!lua_isfunction(L, -1)) return Error{Status::internal_error, "lua.error", std::string(name) + " is gone"};
  for (const auto& a : args) lua_pushlstring(L, a.data(), a.size());
  auto r = guarded_call(L, static_cast<int>(args.size()), 2);
  if (own.status_set) {
    HookReturn answered;
    answered.own_response = std::move(own);
    return answered;
  }
  if (!r) return r.error();

  HookReturn out;
  if (lua_type(L, -1) == LUA_TSTRING) out.path = lua_tostring(L, -1);
  if (lua_type(L, -2) == LUA_TSTRING) {
    out.permission = lua_tostring(L, -2);
  } else if (lua_istable(L, -2)) {
    out.is_table = true;
    lua_pushnil(L);
    while (lua_next(L, -3)) {
      if (lua_type(L, -2) == LUA_TSTRING) {
        std::string key = lua_tostring(L, -2);
        if (lua_type(L, -1) == LUA_TSTRING) out.fields[key] = lua_tostring(L, -1);
        else out.bad_fields.push_back(key);
      }
      lua_pop(L, 1);
    }
    out.permission = out.fields.count("type") ? out.fields["type"] : "";
  } else {
    return Error{Status::internal_error, "lua.hook_return", std::string(name) + " must return a permission"};
  }
  return out;
}

}  // namespace sipi::lua

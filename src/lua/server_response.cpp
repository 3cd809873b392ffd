// What a Lua route or page sends: server.print, sendHeader, sendStatus, setBuffer, and the
// response body that HTTP.<ext> writes set. The ScriptResponse of the running call is kept in
// the registry ("sipi.response"); hooks have none, and these calls do nothing there.
#include <strings.h>

#include <algorithm>
#include <string>

#include "lua/runtime.h"
#include "lua/server_api.h"

namespace sipi::lua {
namespace {

ScriptResponse*& script_response(lua_State* L) {
  lua_getfield(L, LUA_REGISTRYINDEX, "sipi.response");
  auto* p = static_cast<ScriptResponse**>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  static ScriptResponse* none = nullptr;
  return p ? *p : none;
}

int l_print(lua_State* L) {
  ScriptResponse* out = script_response(L);
  if (!out) {
    lua_pushboolean(L, 0);
    lua_pushstring(L, "server.print is only available in routes and pages");
    return 2;
  }
  int n = lua_gettop(L);
  for (int i = 1; i <= n; ++i) {
    size_t len = 0;
    const char* s = luaL_tolstring(L, i, &len);
    out->body.append(s, len);
    lua_pop(L, 1);
  }
  lua_pushboolean(L, 1);
  return 1;
}

int l_send_header(lua_State* L) {
  const char* k = luaL_checkstring(L, 1);
  const char* v = luaL_checkstring(L, 2);
  ScriptResponse* out = script_response(L);
  bool ok = out && std::strpbrk(k, "\r\n:") == nullptr && std::strpbrk(v, "\r\n") == nullptr && *k;
  if (ok) {
    auto& h = out->headers;
    h.erase(std::remove_if(h.begin(), h.end(), [&](const auto& p) { return strcasecmp(p.first.c_str(), k) == 0; }),
            h.end());
    h.emplace_back(k, v);  // last write wins per name
  }
  lua_pushboolean(L, ok);
  if (!ok) {
    lua_pushstring(L, "invalid header");
    return 2;
  }
  return 1;
}

int l_send_status(lua_State* L) {
  lua_Integer code = luaL_checkinteger(L, 1);
  ScriptResponse* out = script_response(L);
  if (out && code >= 100 && code <= 599) {
    out->status = static_cast<int>(code);
    out->status_set = true;
  }
  return 0;
}

// server.setBuffer(): responses are always buffered here; SIPI's scripts check its
// `success, err` result and stop when it is not true.
int l_set_buffer(lua_State* L) {
  lua_pushboolean(L, 1);
  lua_pushnil(L);
  return 2;
}

}  // namespace

void add_response_header(lua_State* L, const std::string& name, const std::string& value) {
  if (ScriptResponse* out = script_response(L)) out->headers.emplace_back(name, value);
}
void set_response_body(lua_State* L, std::string body, const std::string& content_type) {
  ScriptResponse* out = script_response(L);
  if (!out) return;
  out->body = std::move(body);
  auto& h = out->headers;
  h.erase(std::remove_if(h.begin(), h.end(), [](const auto& p) { return strcasecmp(p.first.c_str(), "content-type") == 0; }),
          h.end());
  h.emplace_back("Content-Type", content_type);
}

void register_response_functions(lua_State* L) {
  const luaL_Reg fns[] = {{"print", l_print}, {"sendHeader", l_send_header}, {"sendStatus", l_send_status},
                          {"setBuffer", l_set_buffer}, {nullptr, nullptr}};
  luaL_setfuncs(L, fns, 0);
}

}  // namespace sipi::lua

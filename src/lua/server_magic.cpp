// server.file_mimetype(path | upload_index) → true, {mimetype, charset}
// server.file_mimeconsistency(path | upload_index) → true, bool: does the extension (of the
// original name, for uploads) fit the type libmagic finds in the bytes?
#include <magic.h>

#include <filesystem>
#include <string>

#include "core/media_types.h"
#include "lua/server_api.h"

namespace sipi::lua {
namespace {

struct Found {
  std::string path, name, mime, charset, error;
};

Found lookup(lua_State* L, int idx) {
  Found f;
  if (lua_isinteger(L, idx)) {
    lua_getglobal(L, "server");
    lua_getfield(L, -1, "uploads");
    if (lua_istable(L, -1)) {
      lua_rawgeti(L, -1, lua_tointeger(L, idx));
      if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "tmpname");
        if (lua_isstring(L, -1)) f.path = lua_tostring(L, -1);
        lua_getfield(L, -2, "origname");
        if (lua_isstring(L, -1)) f.name = lua_tostring(L, -1);
        lua_pop(L, 2);
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 2);
    if (f.path.empty()) f.error = "no upload with that index";
  } else if (lua_isstring(L, idx)) {
    f.path = f.name = lua_tostring(L, idx);
  } else {
    f.error = "expected a path or an upload index";
  }
  if (!f.error.empty()) return f;
  magic_t m = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR);
  if (!m || magic_load(m, nullptr) != 0) {
    f.error = "libmagic database not available";
  } else {
    const char* type = magic_file(m, f.path.c_str());
    if (!type) f.error = magic_error(m) ? magic_error(m) : "cannot read the file";
    else f.mime = type;
    magic_setflags(m, MAGIC_MIME_ENCODING);
    const char* enc = type ? magic_file(m, f.path.c_str()) : nullptr;
    if (enc && std::string(enc) != "binary") f.charset = enc;
  }
  if (m) magic_close(m);
  return f;
}

int l_file_mimetype(lua_State* L) {
  Found f = lookup(L, 1);
  if (!f.error.empty()) {
    lua_pushboolean(L, 0);
    lua_pushstring(L, f.error.c_str());
    return 2;
  }
  lua_pushboolean(L, 1);
  lua_newtable(L);
  lua_pushstring(L, f.mime.c_str());
  lua_setfield(L, -2, "mimetype");
  if (!f.charset.empty()) {
    lua_pushstring(L, f.charset.c_str());
    lua_setfield(L, -2, "charset");
  }
  return 2;
}

int l_file_mimeconsistency(lua_State* L) {
  Found f = lookup(L, 1);
  if (!f.error.empty()) {
    lua_pushboolean(L, 0);
    lua_pushstring(L, f.error.c_str());
    return 2;
  }
  bool ok = extension_fits(f.mime, std::filesystem::path(f.name).extension().string());
  lua_pushboolean(L, 1);
  lua_pushboolean(L, ok);
  return 2;
}

}  // namespace

void register_magic_functions(lua_State* L) {
  const luaL_Reg fns[] = {{"file_mimetype", l_file_mimetype}, {"file_mimeconsistency", l_file_mimeconsistency},
                          {nullptr, nullptr}};
  luaL_setfuncs(L, fns, 0);
}

}  // namespace sipi::lua

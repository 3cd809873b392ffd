#include "lua/state.h"

namespace sipi::lua {

StatePtr new_sandboxed_state(lua_Alloc alloc, void* ud) {
  StatePtr L(alloc ? lua_newstate(alloc, ud) : luaL_newstate());
  if (!L) return L;
  lua_State* s = L.get();
  const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base}, {LUA_STRLIBNAME, luaopen_string},
                           {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
                           {LUA_UTF8LIBNAME, luaopen_utf8}, {LUA_OSLIBNAME, luaopen_os}};
  for (const auto& lib : libs) {
    luaL_requiref(s, lib.name, lib.func, 1);
    lua_pop(s, 1);
  }
  for (const char* name : {"dofile", "loadfile", "load", "collectgarbage", "require"}) {
    lua_pushnil(s);
    lua_setglobal(s, name);
  }
  // Keep only the harmless parts of os.
  lua_getglobal(s, "os");
  lua_newtable(s);
  for (const char* f : {"getenv", "clock", "date", "time"}) {
    lua_getfield(s, -2, f);
    lua_setfield(s, -2, f);
  }
  lua_setglobal(s, "os");
  lua_pop(s, 1);
  // A `package` table as SIPI scripts expect to find one (they may read or set package.path);
  // modules still load only through the sandbox's require, from scriptdir.
  lua_newtable(s);
  lua_pushstring(s, "./?.lua");
  lua_setfield(s, -2, "path");
  lua_pushstring(s, "");
  lua_setfield(s, -2, "cpath");
  lua_newtable(s);
  lua_setfield(s, -2, "loaded");
  lua_newtable(s);
  lua_setfield(s, -2, "preload");
  lua_setglobal(s, "package");
  return L;
}

}  // namespace sipi::lua

// An owned lua_State with a restricted standard library. The config reader uses it now; the
// per-request scripting runtime (hooks, routes) will grow from here.
#pragma once

#include <memory>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
}

namespace sipi::lua {

struct StateCloser {
  void operator()(lua_State* L) const { lua_close(L); }
};
using StatePtr = std::unique_ptr<lua_State, StateCloser>;

// base (without dofile/loadfile/load of bytecode), string, table, math, utf8, and os with only
// getenv, clock, date and time. No io, no debug, no package.loadlib.
StatePtr new_sandboxed_state(lua_Alloc alloc = nullptr, void* ud = nullptr);

}  // namespace sipi::lua
